import { randomBytes } from 'node:crypto';
import type { Database } from '../db/client.js';
import { listLiveRooms, type RoomOfSale } from '../db/rooms-repository.js';
import type { Logger } from '../observability/logger.js';
import type { RoomMetrics } from '../observability/room-metrics.js';
import { AdmitterRun, type AdmitterOptions, type SaleReadings } from './admitter-run.js';
import { leaseScript, type RoomTarget } from './scripts.js';
import { roomSettings } from './settings.js';

export type { AdmitterOptions, SaleReadings } from './admitter-run.js';

// How often the list of live rooms is read from PostgreSQL.
const listEveryMs = 1_000;
// A room's admitter starts this long before the room opens.
const warmUpMs = 5_000;

// Every API process runs one of these: for each live room it tries the room's lease, and the
// one process holding it moves that room's line (./admitter-run.ts). A process that dies stops
// renewing; the lease expires and another takes the room over (docs/waiting-room.md).
export class Admitters {
  private readonly token = randomBytes(12).toString('hex');
  private readonly runs = new Map<number, AdmitterRun>();
  private rooms: RoomOfSale[] = [];
  private listedAtMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;

  constructor(
    private readonly target: RoomTarget,
    private readonly db: Database,
    private readonly readings: SaleReadings,
    private readonly options: AdmitterOptions,
    private readonly metrics: RoomMetrics,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => {
      this.ticking ??= this.tick().finally(() => (this.ticking = null));
    }, this.options.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    try {
      if (now - this.listedAtMs >= listEveryMs) {
        this.rooms = await listLiveRooms(this.db);
        this.listedAtMs = now;
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'waiting rooms not listed');
    }
    for (const { sale, room } of this.rooms) {
      if (now < room.opensAt.getTime() - warmUpMs) continue;
      await this.tickRoom(sale.id, () => roomSettings(sale, room));
    }
  }

  private async tickRoom(saleId: number, settings: () => ReturnType<typeof roomSettings>) {
    try {
      const ours = await leaseScript(this.target, saleId, this.token, this.options.leaseMs);
      let run = this.runs.get(saleId);
      if (!ours) {
        if (run) this.runs.delete(saleId);
        return;
      }
      if (!run) {
        run = new AdmitterRun(
          settings(),
          this.token,
          this.target,
          this.db,
          this.readings,
          this.options,
          this.metrics,
        );
        this.runs.set(saleId, run);
      }
      // The sale's end may have been changed by an admin since (PATCH /admin/sales/:saleId).
      else run.update(settings());
      if ((await run.step(Date.now())) === 'lost') this.runs.delete(saleId);
    } catch (error) {
      this.logger.warn({ err: error, saleId }, 'waiting room admitter step failed');
    }
  }
}
