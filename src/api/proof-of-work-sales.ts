import type { Database } from '../db/client.js';
import { proofOfWorkOf } from '../db/sales-repository.js';

// Whether a sale asks for proof of work, read from PostgreSQL once per sale per process: the
// flag is fixed when the sale is created, so the purchase path asks PostgreSQL only the first
// time it meets a sale. A sale PostgreSQL does not know is not remembered (it may be created
// next): each request for it asks again, as the gate's recovery does for a sale Redis lacks.
const maxEntries = 10_000;

export class ProofOfWorkSales {
  private readonly known = new Map<number, boolean>();
  private readonly reading = new Map<number, Promise<boolean | null>>();

  constructor(private readonly db: Database) {}

  // The flag when known, without a promise; undefined when it must be read (`read`).
  cached(saleId: number): boolean | undefined {
    return this.known.get(saleId);
  }

  // The flag, or null for no such sale; concurrent first requests share one query. Throws when
  // PostgreSQL cannot be reached.
  read(saleId: number): Promise<boolean | null> {
    const known = this.known.get(saleId);
    if (known !== undefined) return Promise.resolve(known);
    let pending = this.reading.get(saleId);
    if (!pending) {
      pending = proofOfWorkOf(this.db, saleId)
        .then((flag) => {
          if (flag !== null) {
            if (this.known.size >= maxEntries) this.known.clear();
            this.known.set(saleId, flag);
          }
          return flag;
        })
        .finally(() => this.reading.delete(saleId));
      this.reading.set(saleId, pending);
    }
    return pending;
  }
}
