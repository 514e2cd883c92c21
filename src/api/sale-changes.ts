import type { Database } from '../db/client.js';
import {
  changeSaleSettings,
  SaleNotFoundError,
  type SaleChangeAction,
  type SaleSettingsRow,
} from '../db/sale-admin-repository.js';
import type { Sale } from '../db/schema.js';
import type { Gate, SaleSettings } from '../gate/gate.js';
import type { Logger } from '../observability/logger.js';
import { ApiError, unavailable } from './api-error.js';
import type { SaleChangeBody } from './admin-validation.js';

export type SaleChangeDeps = { db: Database; gate: Gate; logger: Logger };

export type SaleChange = { actor: string } & (
  { action: 'pause' | 'resume' } | { action: 'update'; body: SaleChangeBody }
);

// An admin's change of a running sale (API.md, Operating a sale; docs/sale-changes.md).
// PostgreSQL is the truth and the gate never runs looser than it: what narrows the sale
// (fewer units, an earlier end, a lower limit, a pause) is applied to the gate inside the
// transaction, before the commit, checked against the gate's counts; the whole change is
// applied again after the commit, which is what widens it. A crash between the two leaves the
// gate narrower than PostgreSQL, and the reconciler applies PostgreSQL's settings.
export async function changeSale(
  deps: SaleChangeDeps,
  saleId: number,
  change: SaleChange,
): Promise<Sale> {
  const { gate, logger } = deps;
  let result;
  try {
    result = await changeSaleSettings(
      deps.db,
      saleId,
      { actor: change.actor, action: change.action },
      {
        decide: (sale) => decide(sale, change),
        beforeCommit: async (before, after) => {
          const narrow = narrowest(before, after);
          if (sameSettings(narrow, before)) return;
          const outcome = await gate.applySettings(settingsFor(saleId, narrow), { force: false });
          if (outcome.kind === 'in_use') throw stockInUse(before, after.stock, outcome.available);
          if (outcome.kind === 'loading') throw unavailable('the sale is being reloaded; retry');
        },
      },
    );
  } catch (error) {
    if (error instanceof SaleNotFoundError)
      throw new ApiError(404, 'SALE_NOT_FOUND', 'no such sale');
    throw error;
  }
  const { before, after, changed } = result;
  if (!changed) return after;
  logger.info(
    {
      saleId,
      actor: change.actor,
      action: change.action,
      before: settingsLog(before),
      after: settingsLog(after),
    },
    'sale changed',
  );
  try {
    await gate.applySettings(settingsFor(saleId, after), { force: true });
  } catch (error) {
    logger.error({ err: error, saleId }, 'sale change saved but not applied to the gate');
    throw unavailable('the change was saved but the gate could not take it; the reconciler will');
  }
  return after;
}

// A time in the past ends the sale now; never before it starts (the window stays ordered),
// so a sale ended before its start never sells.
function endOf(sale: Sale, endsAt: Date | null | undefined): Date | null {
  if (endsAt === undefined) return sale.endsAt;
  if (endsAt === null) return null;
  const now = Date.now();
  return new Date(Math.max(endsAt.getTime(), now, sale.startsAt.getTime() + 1));
}

function decide(sale: Sale, change: SaleChange): SaleSettingsRow | null {
  const current: SaleSettingsRow = settingsRow(sale);
  let next: SaleSettingsRow;
  if (change.action !== 'update') {
    next = { ...current, paused: change.action === 'pause' };
  } else {
    const body = change.body;
    next = {
      stock: body.stock ?? sale.stock,
      perUserLimit: body.perUserLimit ?? sale.perUserLimit,
      endsAt: endOf(sale, body.endsAt),
      paused: sale.paused,
    };
    // PostgreSQL's own count of units sold; the gate checks the units held too.
    if (next.stock < sale.sold) throw stockInUse(sale, next.stock, sale.stock - sale.sold);
  }
  return sameSettings(next, current) ? null : next;
}

function settingsRow(sale: SaleSettingsRow): SaleSettingsRow {
  return {
    stock: sale.stock,
    perUserLimit: sale.perUserLimit,
    endsAt: sale.endsAt,
    paused: sale.paused,
  };
}

const endMs = (endsAt: Date | null) => endsAt?.getTime() ?? Number.POSITIVE_INFINITY;

// The tighter of two settings on every point: what the gate may hold before the commit.
function narrowest(a: SaleSettingsRow, b: SaleSettingsRow): SaleSettingsRow {
  return {
    stock: Math.min(a.stock, b.stock),
    perUserLimit: Math.min(a.perUserLimit, b.perUserLimit),
    endsAt: endMs(a.endsAt) <= endMs(b.endsAt) ? a.endsAt : b.endsAt,
    paused: a.paused || b.paused,
  };
}

function sameSettings(a: SaleSettingsRow, b: SaleSettingsRow): boolean {
  return (
    a.stock === b.stock &&
    a.perUserLimit === b.perUserLimit &&
    endMs(a.endsAt) === endMs(b.endsAt) &&
    a.paused === b.paused
  );
}

export function settingsFor(saleId: number, sale: SaleSettingsRow): SaleSettings {
  return { saleId, ...settingsRow(sale) };
}

function settingsLog(sale: SaleSettingsRow) {
  return { ...settingsRow(sale), endsAt: sale.endsAt?.toISOString() ?? null };
}

function stockInUse(sale: Sale, asked: number, available: number): ApiError {
  const inUse = sale.stock - Math.max(0, available);
  return new ApiError(
    409,
    'STOCK_IN_USE',
    `stock ${asked} is below the ${inUse} units sold or reserved`,
  );
}

export type { SaleChangeAction };
