import { withDeadline } from './deadline.js';

export type PeriodicPassOptions = {
  name: string;
  intervalMs: number;
  // A pass taking longer fails; the next one tries again (nothing that repairs may hang).
  timeoutMs: number;
  run: () => Promise<void>;
  // Called after every pass with its error, or null when it succeeded.
  done: (error: unknown) => void;
};

// One pass at a time: at start, then every `intervalMs` after the previous one ended, or as
// soon as the current one ends when `runSoon` asked for it. Used by the reconciler and the
// expiry sweep.
export class PeriodicPass {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private wantedSoon = false;

  constructor(private readonly options: PeriodicPassOptions) {}

  start(): void {
    this.schedule(0);
  }

  runSoon(): void {
    this.wantedSoon = true;
    if (this.running || this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.wantedSoon = false;
      const { name, timeoutMs, run, done } = this.options;
      this.running = withDeadline(timeoutMs, name, run)
        .then(
          () => done(null),
          (error: unknown) => done(error),
        )
        .finally(() => {
          this.running = null;
          this.schedule(this.wantedSoon ? 0 : this.options.intervalMs);
        });
    }, delayMs);
  }
}
