import type { Database } from '../db/client.js';
import { findSale } from '../db/sales-repository.js';
import type { Logger } from '../observability/logger.js';
import type { SaleLoader } from './sale-loader.js';

// A sale id PostgreSQL does not know is remembered this long, so a storm of purchases for a
// sale that does not exist asks PostgreSQL a few times a second, not once per request.
const absentForMs = 1_000;

export type MissingSaleAnswer = 'absent' | 'loading';

// What the API does when the gate has no such sale: the sale may exist and Redis have
// forgotten it (restarted empty, failed over). Then it is loaded back in the background and
// the buyer is told to retry (503), never that the sale does not exist (404).
export class SaleRecovery {
  private readonly absent = new Map<number, number>();

  constructor(
    private readonly db: Database,
    private readonly loader: SaleLoader,
    private readonly logger: Logger,
  ) {}

  async onSaleMissing(saleId: number): Promise<MissingSaleAnswer> {
    const absentUntil = this.absent.get(saleId);
    if (absentUntil !== undefined && absentUntil > Date.now()) return 'absent';
    const sale = await findSale(this.db, saleId);
    if (!sale) {
      if (this.absent.size > 10_000) this.absent.clear();
      this.absent.set(saleId, Date.now() + absentForMs);
      return 'absent';
    }
    this.absent.delete(saleId);
    this.loader
      .ensureLoaded(sale)
      .catch((error: unknown) =>
        this.logger.warn({ err: error, saleId }, 'loading a sale back into redis failed'),
      );
    return 'loading';
  }
}
