import { SingleFlight } from '../concurrency/single-flight.js';
import type { Database } from '../db/client.js';
import { proofOfWorkOf } from '../db/sales-repository.js';
import type { Gate } from '../gate/gate.js';

// What the purchase path and the challenge route need of a sale: whether it asks for proof of
// work, and when it starts (a challenge asked before is priced as the opening crowd will be).
// Whether it has a waiting room rides along: a purchase of such a sale needs a pass, and its
// proof of work is asked at the join instead.
export type SaleWork = { asks: boolean; startsAtMs: number; room: boolean };

// Both are fixed when the sale is created, so each process reads them once per sale: from the
// gate's sale hash, where the purchase path goes anyway, and from PostgreSQL only when Redis
// does not hold the sale (it forgot it, or an older version loaded it). A sale neither knows is
// not remembered (it may be created next): each request for it asks again.
const maxEntries = 10_000;

export class ProofOfWorkSales {
  private readonly known = new Map<number, SaleWork>();
  private readonly reading = new SingleFlight<number, SaleWork | null>();

  constructor(
    private readonly gate: Pick<Gate, 'saleState'>,
    private readonly db: Database,
  ) {}

  // The sale's entry when known, without a promise; undefined when it must be read (`read`).
  cached(saleId: number): SaleWork | undefined {
    return this.known.get(saleId);
  }

  // The sale's entry, or null for no such sale; concurrent first requests share one reading.
  // Throws when neither Redis nor PostgreSQL can be asked.
  read(saleId: number): Promise<SaleWork | null> {
    const known = this.known.get(saleId);
    if (known !== undefined) return Promise.resolve(known);
    return this.reading.run(saleId, async () => {
      const entry = await this.fetch(saleId);
      if (!entry) return null;
      if (this.known.size >= maxEntries) this.known.clear();
      this.known.set(saleId, entry);
      return entry;
    });
  }

  private async fetch(saleId: number): Promise<SaleWork | null> {
    const state = await this.gate.saleState(saleId);
    if (state?.features) {
      const room = state.features.includes('room');
      return { asks: state.features.includes('pow'), startsAtMs: state.startsAtMs, room };
    }
    const row = await proofOfWorkOf(this.db, saleId);
    return row
      ? { asks: row.proofOfWork, startsAtMs: row.startsAt.getTime(), room: row.waitingRoom }
      : null;
  }
}
