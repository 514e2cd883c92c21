import { toDone, toReserveOutcome, type ReserveOutcome } from '../outcomes.js';
import { keysOf, reservationKeys, type Home } from './home.js';
import { runScript, type ScriptTarget } from './registry.js';

export type ReserveCall = {
  orderId: string;
  buyer: string;
  quantity: number;
  // The request's Idempotency-Key and how long its answer is kept; null: it has none.
  idempotency: { key: string; ttlSeconds: number } | null;
  // The buyer's token bucket; capacity 0 turns it off.
  rate: { capacity: number; refillPerSecond: number };
  // Over shards: the shard to try when the home has no unit (-1: the script picks one).
  nextShard: number;
};

// lua/reserve-7.lua at the buyer's home.
export async function reserveScript(
  target: ScriptTarget,
  at: Home,
  call: ReserveCall,
): Promise<ReserveOutcome> {
  const k = keysOf(target, at);
  const { orderId, buyer, idempotency, rate } = call;
  // Without an Idempotency-Key the script is still given a key of the slot, never written.
  const idempotencyKey = k.idempotency(buyer, idempotency?.key ?? '');
  const keys = [...reservationKeys(k, orderId), idempotencyKey, k.rateBucket(buyer), k.ledger];
  const order = [orderId, buyer, call.quantity, idempotency?.ttlSeconds ?? 0];
  const events = [target.channel, at.saleId];
  const args = [...order, rate.capacity, rate.refillPerSecond, ...events, call.nextShard];
  return toReserveOutcome(await runScript(target, 'reserve', keys, args));
}

// lua/retarget-1.lua: false when the reservation no longer names `from` (it was released).
export async function retargetScript(
  target: ScriptTarget,
  at: Home,
  move: { orderId: string; from: number; to: number },
): Promise<boolean> {
  const key = keysOf(target, at).reservation(move.orderId);
  const reply = await runScript(target, 'retarget', [key], [move.from, move.to]);
  return toDone(reply, 'retarget-1', ['STALE']);
}
