import {
  toClaimOutcomes,
  toConfirmOutcomes,
  toReleaseOutcome,
  toRestoreOutcomes,
  toReturnOutcome,
  type ClaimOutcome,
  type ConfirmOutcome,
  type ReleaseOutcome,
  type RestoreMode,
  type RestoreOutcome,
  type ReturnOutcome,
} from '../outcomes.js';
import { keysOf, reservationKeys, type Home } from './home.js';
import { runScript, type ScriptTarget } from './registry.js';

// lua/claim-1.lua and lua/confirm-1.lua: reservations of one home, one outcome each, after
// the script's own arguments.
async function eachReservation(
  target: ScriptTarget,
  at: Home,
  script: 'claim' | 'confirm',
  args: readonly number[],
  orderIds: readonly string[],
): Promise<unknown> {
  const k = keysOf(target, at);
  return runScript(target, script, [k.inflight], [...args, k.reservations, ...orderIds]);
}

export async function claimScript(
  target: ScriptTarget,
  at: Home,
  orderIds: readonly string[],
): Promise<ClaimOutcome[]> {
  const reply = await eachReservation(target, at, 'claim', [], orderIds);
  return toClaimOutcomes(reply, orderIds.length);
}

export async function confirmScript(
  target: ScriptTarget,
  at: Home,
  orderIds: readonly string[],
  tombstoneTtlSeconds: number,
): Promise<ConfirmOutcome[]> {
  const reply = await eachReservation(target, at, 'confirm', [tombstoneTtlSeconds], orderIds);
  return toConfirmOutcomes(reply, orderIds.length);
}

export type ReleaseCall = {
  orderId: string;
  // Releases a committing reservation too (the order's row is failed already).
  force: boolean;
  reason: string;
  tombstoneTtlSeconds: number;
};

// lua/release-4.lua at the order's home.
export async function releaseScript(
  target: ScriptTarget,
  at: Home,
  call: ReleaseCall,
): Promise<ReleaseOutcome> {
  const keys = reservationKeys(keysOf(target, at), call.orderId);
  const force = call.force ? '1' : '0';
  const args = [call.orderId, force, call.tombstoneTtlSeconds, call.reason, target.channel];
  return toReleaseOutcome(await runScript(target, 'release', keys, [...args, at.saleId]));
}

export type ReturnCall = {
  orderId: string;
  buyer: string;
  quantity: number;
  reservedAtMs: number;
  reason: 'expired' | 'cancelled';
  tombstoneTtlSeconds: number;
};

// lua/return-4.lua at the order's home.
export async function returnScript(
  target: ScriptTarget,
  at: Home,
  call: ReturnCall,
): Promise<ReturnOutcome> {
  const keys = reservationKeys(keysOf(target, at), call.orderId);
  const order = [call.orderId, call.buyer, call.quantity, call.reservedAtMs];
  const args = [...order, call.tombstoneTtlSeconds, call.reason, target.channel, at.saleId];
  return toReturnOutcome(await runScript(target, 'returnUnits', keys, args));
}

export type RestoreCall = {
  orderId: string;
  buyer: string;
  quantity: number;
  reservedAtMs: number;
  // The shard holding its units, for a sale over shards; -1 otherwise.
  shard: number;
  mode: RestoreMode;
};

// lua/restore-3.lua: orders of one home, one outcome each.
export async function restoreScript(
  target: ScriptTarget,
  at: Home,
  orders: readonly RestoreCall[],
  tombstoneTtlSeconds: number,
): Promise<RestoreOutcome[]> {
  const k = keysOf(target, at);
  const reply = await runScript(
    target,
    'restore',
    [k.sale, k.held, k.inflight],
    [
      tombstoneTtlSeconds,
      target.channel,
      at.saleId,
      k.reservations,
      ...orders.flatMap((o) => [o.orderId, o.buyer, o.quantity, o.reservedAtMs, o.shard, o.mode]),
    ],
  );
  return toRestoreOutcomes(reply, orders.length);
}
