import type { Sale } from '../db/schema.js';
import type { Gate } from '../gate/gate.js';
import type { Logger } from '../observability/logger.js';

// An admin's change is committed in PostgreSQL before the gate takes all of it
// (src/api/sale-changes.ts): a crash in between, or a lost race with this pass, leaves the
// gate with other settings. PostgreSQL's are applied then, forced: they are the truth, and
// units held beyond a stock taken back are held by orders PostgreSQL's guard will refuse.
// True when the gate was set right.
export async function syncSettings(gate: Gate, logger: Logger, sale: Sale): Promise<boolean> {
  const settings = {
    saleId: sale.id,
    stock: sale.stock,
    perUserLimit: sale.perUserLimit,
    endsAt: sale.endsAt,
    paused: sale.paused,
  };
  if (!(await gate.settingsDiffer(settings))) return false;
  const outcome = await gate.applySettings(settings, { force: true });
  logger.warn(
    { saleId: sale.id, outcome: outcome.kind, stock: sale.stock, paused: sale.paused },
    "sale settings in redis differed from postgresql's; applied postgresql's",
  );
  return outcome.kind === 'changed';
}
