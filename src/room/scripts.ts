import { roomKeys, type RoomPartKeys } from '../gate/keys.js';
import { codeName } from '../gate/codes.js';
import { runScript, type ScriptTarget } from '../gate/scripts/registry.js';

// The room's Lua scripts (lua/room-*.lua), each behind one typed call. The room's own keys are
// under its sale's tag; a partition's (join, leave, seen, tend) under its own (roomPartKeys),
// which is the sale's for a sale without shards. Each call is one slot, on a cluster too.
// Partition scripts take and answer local place numbers (./partitions.ts).
export type RoomTarget = Pick<ScriptTarget, 'redis' | 'prefix'>;

type Reply = [number, ...unknown[]];

async function call(
  target: RoomTarget,
  name: Parameters<typeof runScript>[1],
  keys: string[],
  args: (string | number | Buffer)[],
): Promise<Reply> {
  return (await runScript({ ...target, channel: '' }, name, keys, args)) as Reply;
}

export type Joined = { place: number; nowMs: number; existed: boolean };
export type JoinEntry = { buyer: string; ticketPlace: number };
// A buyer's join: their place, or what refused every join of the call.
export type JoinRefusal = 'missing' | 'paused' | 'ended';
export type JoinOutcome = Joined | JoinRefusal;

// Every entry's place, in their order; or what refused them all.
export async function joinScript(
  target: RoomTarget,
  k: RoomPartKeys,
  startsAtMs: number,
  seen: { epoch: number; ttlSeconds: number },
  entries: readonly JoinEntry[],
): Promise<Joined[] | JoinRefusal> {
  const keys = [k.state, k.buyers, k.gone, k.seen(seen.epoch), k.gate];
  const args: (string | number)[] = [startsAtMs, seen.ttlSeconds];
  for (const { buyer, ticketPlace } of entries) args.push(buyer, ticketPlace);
  const reply = await call(target, 'roomJoin', keys, args);
  const code = codeName(reply[0], 'room-join-5');
  if (code === 'MISSING') return 'missing';
  if (code === 'PAUSED') return 'paused';
  if (code === 'ENDED') return 'ended';
  const nowMs = Number(reply[1]);
  return entries.map((_, i) => ({
    place: Number(reply[2 + 2 * i]),
    nowMs,
    existed: Number(reply[3 + 2 * i]) === 1,
  }));
}

export async function leaveScript(
  target: RoomTarget,
  k: RoomPartKeys,
  buyer: string,
  ticketPlace: number,
): Promise<void> {
  await call(target, 'roomLeave', [k.state, k.buyers, k.gone], [buyer, ticketPlace]);
}

// False when the room's state is gone (restore it, then flush again).
export async function seenScript(
  target: RoomTarget,
  k: RoomPartKeys,
  seen: { epoch: number; ttlSeconds: number },
  places: readonly (readonly [string, number])[],
): Promise<boolean> {
  const args: (string | number)[] = [seen.ttlSeconds];
  for (const [buyer, place] of places) args.push(buyer, place);
  const keys = [k.state, k.buyers, k.seen(seen.epoch), k.gone];
  const reply = await call(target, 'roomSeen', keys, args);
  return codeName(reply[0], 'room-seen-4') === 'OK';
}

export type RoomRestore = {
  incarnation: string;
  top: number;
  drawnSize: number | null;
  cursor: number;
  admitted: number;
  nowMs: number;
  gone: Buffer | null;
  order: Buffer | null;
  batches: readonly [number, number, number][];
  // The lost range starts above this place number (null: nothing lost).
  lostFrom: number | null;
};

// True when this call created the state. `k`: the room's keys, or a partition's (its spare
// key standing for the batches and the order, which it has none of).
export async function restoreScript(
  target: RoomTarget,
  k: { state: string; gone: string; batches: string; order: string },
  room: RoomRestore,
): Promise<boolean> {
  const args: (string | number | Buffer)[] = [
    room.incarnation,
    room.top,
    room.drawnSize ?? '',
    room.cursor,
    room.admitted,
    room.nowMs,
    room.gone ?? '',
    room.order ?? '',
    room.lostFrom ?? '',
  ];
  for (const [to, expiresAt, passes] of room.batches) args.push(expiresAt, `${to}:${passes}`);
  const reply = await call(target, 'roomRestore', [k.state, k.gone, k.batches, k.order], args);
  return codeName(reply[0], 'room-restore-4') === 'OK';
}

export async function leaseScript(
  target: RoomTarget,
  saleId: number,
  token: string,
  ttlMs: number,
): Promise<boolean> {
  const reply = await call(
    target,
    'roomLease',
    [roomKeys(target.prefix, saleId).lease],
    [token, ttlMs],
  );
  return codeName(reply[0], 'room-lease-1') === 'OK';
}

export type Advance = {
  token: string;
  incarnation: string;
  cursor: number;
  issued: number;
  batch: { expiresAtMs: number; to: number } | null;
  view: string;
  // A sale over shards: the line's places given up, composed from its partitions', and its
  // version (null: unchanged, or a sale without shards).
  gone: { bitmap: Buffer; gv: number } | null;
  expired: readonly number[];
};

export async function advanceScript(
  target: RoomTarget,
  saleId: number,
  step: Advance,
): Promise<'OK' | 'NOT_OURS' | 'STALE'> {
  const k = roomKeys(target.prefix, saleId);
  const reply = await call(
    target,
    'roomAdvance',
    [k.state, k.lease, k.batches, k.used, k.view, k.gone],
    [
      step.token,
      step.incarnation,
      step.cursor,
      step.issued,
      step.batch ? step.batch.expiresAtMs : '',
      step.batch ? `${step.batch.to}:${step.issued}` : '',
      step.view,
      step.gone?.bitmap ?? '',
      step.gone?.gv ?? '',
      step.expired.length,
      ...step.expired,
    ],
  );
  const code = codeName(reply[0], 'room-advance-6');
  if (code !== 'OK' && code !== 'NOT_OURS' && code !== 'STALE') throw new Error(code);
  return code;
}

export type Tended = {
  seq: number;
  // The partition's prequeue size, once frozen.
  n: number | null;
  gv: number;
  inc: string;
  since: number;
  dropped: number;
};

// The admitter's visit to one partition (lua/room-tend-5.lua): 'missing' when Redis forgot it.
export async function tendScript(
  target: RoomTarget,
  k: RoomPartKeys,
  visit: { startsAtMs: number; epoch: number; round: number; drop: readonly number[] },
): Promise<Tended | 'missing'> {
  const keys = [k.state, k.gone, ...[0, 1, 2].map((back) => k.seen(visit.epoch - back))];
  const reply = await call(target, 'roomTend', keys, [
    visit.startsAtMs,
    visit.round,
    ...visit.drop,
  ]);
  if (codeName(reply[0], 'room-tend-5') === 'MISSING') return 'missing';
  const n = Number(reply[2]);
  return {
    seq: Number(reply[1]),
    n: n < 0 ? null : n,
    gv: Number(reply[3]),
    inc: String(reply[4]),
    since: Number(reply[5]),
    dropped: Number(reply[6]),
  };
}

// True when this is the pass's first counted use.
export async function useScript(
  target: RoomTarget,
  saleId: number,
  rank: number,
  expiresAtMs: number,
): Promise<boolean> {
  const k = roomKeys(target.prefix, saleId);
  const reply = await call(
    target,
    'roomUse',
    [k.usedRanks, k.used, k.batches],
    [rank, expiresAtMs],
  );
  return codeName(reply[0], 'room-use-3') === 'OK';
}
