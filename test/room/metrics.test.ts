import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { metric } from '../support/failures.js';
import { assertOracle } from '../support/oracle.js';
import { buyThroughLine, createRoomSale, joinAll, useRoomSystem } from '../support/room-line.js';

// What an operator watches of a room (docs/waiting-room.md, "Seen"): every metric the
// dashboard's "Waiting room" row reads is served, and each moves when its event happens:
// joins, leaves, idle drops, admissions, passes used and expired, the time in line.
// waiting room: metrics
const system = useRoomSystem('room-metrics');

type Panel = { type: string; title: string; targets?: { expr: string }[] };

// The metric names of the dashboard's "Waiting room" row (its panels up to the next row).
function roomRowMetrics(): string[] {
  const url = new URL('../../ops/grafana/dashboards/flashline.json', import.meta.url);
  const panels = (JSON.parse(readFileSync(url, 'utf8')) as { panels: Panel[] }).panels;
  const start = panels.findIndex((p) => p.type === 'row' && p.title === 'Waiting room');
  const end = panels.findIndex((p, i) => i > start && p.type === 'row');
  const row = panels.slice(start + 1, end === -1 ? undefined : end);
  const exprs = row.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  return [...new Set(exprs.flatMap((e) => e.match(/flashline_room_[a-z_]+/g) ?? []))];
}

it("moves every metric of the dashboard's waiting-room row over two sales' lines", async () => {
  const { env, api, room } = system;
  const read = (name: string, labels: Record<string, string> = {}) =>
    metric(system.sut.api.port, name, labels);
  const counters = [
    'flashline_room_joins_total',
    'flashline_room_leaves_total',
    'flashline_room_passes_used_total',
    'flashline_room_time_in_line_seconds_count',
  ];
  const before = await Promise.all(counters.map((name) => read(name)));
  // Admits at once, held by its rate (100 x WAITING_ROOM_OVERBOOK is no bound for two); the
  // second buyer's pass is never used and expires (30 s, the least).
  const sold = await createRoomSale(api, 'rm-sold', 100, { admitPerSecond: 100, passSeconds: 30 });
  // Not started: one place is left, and one never asked for again is dropped (10 s, the least).
  const later = await createRoomSale(api, 'rm-later', 5, { idleSeconds: 10 }, { startsIn: 600 });
  const idlers = await joinAll(room, later, ['rm-idler', 'rm-leaver']);
  expect((await room.leave(later, 'rm-leaver', idlers.get('rm-leaver'))).status).toBe(204);
  await joinAll(room, sold, ['rm-unused']);
  const orderId = await buyThroughLine(room, sold, 'rm-buyer');

  const bySale = (id: number) => ({ sale: String(id) });
  await waitFor(
    async () =>
      (await read('flashline_room_passes_expired_total', bySale(sold))) >= 1 &&
      (await read('flashline_room_idle_drops_total', bySale(later))) >= 1,
    { timeoutMs: 60_000, intervalMs: 500, what: 'a pass expired and an idle place dropped' },
  );
  await waitFor(async () => (await read('flashline_room_waiting', bySale(later))) === 0, {
    what: 'nobody waiting in the sale not started',
  });
  const after = await Promise.all(counters.map((name) => read(name)));
  const moved = Object.fromEntries(counters.map((name, i) => [name, after[i]! - before[i]!]));
  expect(moved).toEqual({
    flashline_room_joins_total: 4,
    flashline_room_leaves_total: 1,
    flashline_room_passes_used_total: 1,
    flashline_room_time_in_line_seconds_count: 1,
  });
  expect(await read('flashline_room_admitted_total', bySale(sold))).toBe(2);
  expect(await read('flashline_room_outflow_limit', bySale(sold))).toBe(100);
  expect(await read('flashline_room_outflow_reason', { ...bySale(sold), reason: 'fixed' })).toBe(1);

  const text = await (await fetch(`http://127.0.0.1:${system.sut.api.port}/metrics`)).text();
  const served = new Set(text.split('\n').map((line) => /^([a-z_]+)[{ ]/.exec(line)?.[1]));
  const names = roomRowMetrics();
  expect(names.length).toBeGreaterThan(5);
  expect(names.filter((name) => !served.has(name))).toEqual([]);
  await assertOracle(env, sold, [{ status: 202, orderId, buyer: 'rm-buyer', quantity: 1 }]);
});
