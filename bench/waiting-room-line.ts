// The line before the start (bench/waiting-room.ts): every buyer joins, the room's memory is
// read, and the places are polled with their tickets, each step in rounds alternated with its
// bare ceiling (bench/README.md, "The ceilings in rounds").
import { roomLoad, withCpu, type FlatResult, type RoomLoad } from './waiting-room-load.js';
import type { RoomBench } from './waiting-room.js';

// Pairs of (ceiling, step) per step. On this shared machine one pair's ratio moved ±15 % from
// one run to the next (the same code minutes apart), and a median of three still moved by 0.1
// (the poll read 0.65-0.77x on the same code): the median of five.
const rounds = 5;

type Measured = FlatResult & { cpuUsPerAnswer: number; driverCpuUsPerAnswer: number };
export type Pair = { bare: Measured; room: Measured; ratio: number };

// The pair whose ratio is the median, and every pair's figures.
export function medianPair(pairs: Pair[]) {
  const sorted = [...pairs].sort((a, b) => a.ratio - b.ratio);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const rounds = pairs.map(({ bare, room, ratio }) => ({
    barePerSecond: bare.perSecond,
    perSecond: room.perSecond,
    bareCpuUs: bare.cpuUsPerAnswer,
    cpuUs: room.cpuUsPerAnswer,
    bareDriverCpuUs: bare.driverCpuUsPerAnswer,
    driverCpuUs: room.driverCpuUsPerAnswer,
    ratio: Math.round(ratio * 100) / 100,
  }));
  return { ...median, rounds };
}

// The bare route flat out, with the same requests as the room's step it is the ceiling of,
// measured just before that step: on this shared machine a ceiling read minutes earlier (before
// the purchase path's reference and 100,000 joins) compared each step with another machine.
function bareFlat(
  b: RoomBench,
  method: 'GET' | 'POST',
  headers: RoomLoad['headers'],
  seconds: number,
) {
  return withCpu(b.barePids, () =>
    roomLoad({
      baseUrl: b.bareUrls,
      path: '/sales/1/queue',
      method,
      connections: b.connections,
      seconds,
      headers,
    }),
  );
}

// Each round's flat-out seconds: half the step's.
const half = (b: RoomBench) => Math.max(1, Math.round(b.seconds / 2));

// The seconds the rounds take besides the joins themselves: per round, the join's ceiling, the
// poll's ceiling and the polls.
export const roundsSeconds = (b: RoomBench) => rounds * 3 * half(b);

const pairOf = (bare: Measured, room: Measured): Pair => ({
  bare,
  room,
  ratio: room.perSecond / Math.max(1, bare.perSecond),
});

// The buyers join in `rounds` parts, each after a bare ceiling; their tickets, by buyer index.
async function joinInRounds(b: RoomBench, saleId: number, auth: RoomLoad['headers']) {
  const tickets: (string | undefined)[] = new Array(b.buyers);
  const pairs: Pair[] = [];
  const part = Math.ceil(b.buyers / rounds);
  for (let from = 0; from < b.buyers; from += part) {
    const bare = await bareFlat(b, 'POST', auth, half(b));
    const join = await withCpu(b.apiPids, () =>
      roomLoad({
        baseUrl: b.apiUrls,
        path: `/sales/${saleId}/queue`,
        method: 'POST',
        connections: b.connections,
        amount: Math.min(part, b.buyers - from),
        headers: (i) => auth(from + i),
        onBody: (i, status, body) => {
          if (status !== 200 || i < 0) return;
          tickets[from + i] = (JSON.parse(body) as { ticket: string }).ticket;
        },
      }),
    );
    pairs.push(pairOf(bare, join));
  }
  return { tickets, join: medianPair(pairs) };
}

export async function lineBeforeStart(
  b: RoomBench,
  saleId: number,
  roomBytes: () => Promise<number>,
) {
  const auth = (i: number) => ({ authorization: `Bearer ${b.tokens[i % b.tokens.length]}` });
  const { tickets, join } = await joinInRounds(b, saleId, auth);
  const joined = tickets.filter(Boolean).length;
  const bytes = await roomBytes();
  b.log(`(room) polls of the ${joined} places, flat out, before the start`);
  const withTicket = (i: number) => ({
    ...auth(i % joined),
    'x-queue-ticket': tickets[i % joined] ?? '',
  });
  const pairs: Pair[] = [];
  for (let round = 0; round < rounds; round++) {
    const bare = await bareFlat(b, 'GET', withTicket, half(b));
    const poll = await withCpu(b.apiPids, () =>
      roomLoad({
        baseUrl: b.apiUrls,
        path: `/sales/${saleId}/queue`,
        method: 'GET',
        connections: b.connections,
        seconds: half(b),
        headers: withTicket,
      }),
    );
    pairs.push(pairOf(bare, poll));
  }
  return { join, joined, tickets, bytes, poll: medianPair(pairs) };
}
