import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { sales, type Sale } from '../db/schema.js';
import type { Gate, SaleSettings } from '../gate/gate.js';
import type { Logger } from '../observability/logger.js';

const settingsOf = (sale: Sale): SaleSettings => ({
  saleId: sale.id,
  stock: sale.stock,
  perUserLimit: sale.perUserLimit,
  endsAt: sale.endsAt,
  paused: sale.paused,
});

// An admin's change is committed in PostgreSQL before the gate takes all of it
// (src/api/sale-changes.ts, docs/sale-changes.md): a crash in between leaves the gate with
// other settings. PostgreSQL's are applied then, forced: they are the truth, and units held
// beyond a stock taken back are held by orders PostgreSQL's guard will refuse. The row is read
// again under FOR KEY SHARE, which waits for an admin's change in progress (it holds FOR
// UPDATE) and lets the workers' updates of `sold` through, so this pass never undoes a change
// that is about to commit. True when the gate was set right.
export async function syncSettings(
  db: Database,
  gate: Gate,
  logger: Logger,
  sale: Sale,
): Promise<boolean> {
  if (!(await gate.settingsDiffer(settingsOf(sale)))) return false;
  return db.transaction(async (tx) => {
    const [locked] = await tx.select().from(sales).where(eq(sales.id, sale.id)).for('key share');
    if (!locked || !(await gate.settingsDiffer(settingsOf(locked)))) return false;
    const outcome = await gate.applySettings(settingsOf(locked), { force: true });
    logger.warn(
      { saleId: sale.id, outcome: outcome.kind, stock: locked.stock, paused: locked.paused },
      "sale settings in redis differed from postgresql's; applied postgresql's",
    );
    return outcome.kind === 'changed';
  });
}
