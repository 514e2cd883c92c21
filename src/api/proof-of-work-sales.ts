import type { Database } from '../db/client.js';
import { proofOfWorkOf } from '../db/sales-repository.js';

// What the purchase path and the challenge route need of a sale: whether it asks for proof of
// work, and when it starts (a challenge asked before is priced as the opening crowd will be).
export type SaleWork = { asks: boolean; startsAtMs: number };

// Read from PostgreSQL once per sale per process: both are fixed when the sale is created, so
// the purchase path asks PostgreSQL only the first time it meets a sale. A sale PostgreSQL does
// not know is not remembered (it may be created next): each request for it asks again, as the
// gate's recovery does for a sale Redis lacks.
const maxEntries = 10_000;

export class ProofOfWorkSales {
  private readonly known = new Map<number, SaleWork>();
  private readonly reading = new Map<number, Promise<SaleWork | null>>();

  constructor(private readonly db: Database) {}

  // The sale's entry when known, without a promise; undefined when it must be read (`read`).
  cached(saleId: number): SaleWork | undefined {
    return this.known.get(saleId);
  }

  // The sale's entry, or null for no such sale; concurrent first requests share one query.
  // Throws when PostgreSQL cannot be reached.
  read(saleId: number): Promise<SaleWork | null> {
    const known = this.known.get(saleId);
    if (known !== undefined) return Promise.resolve(known);
    let pending = this.reading.get(saleId);
    if (!pending) {
      pending = proofOfWorkOf(this.db, saleId)
        .then((row) => {
          if (!row) return null;
          const entry = { asks: row.proofOfWork, startsAtMs: row.startsAt.getTime() };
          if (this.known.size >= maxEntries) this.known.clear();
          this.known.set(saleId, entry);
          return entry;
        })
        .finally(() => this.reading.delete(saleId));
      this.reading.set(saleId, pending);
    }
    return pending;
  }
}
