import type { RoomPartKeys } from '../gate/keys.js';
import { joinScript, type JoinEntry, type JoinOutcome, type RoomTarget } from './scripts.js';

// Most joins one script call takes: a call holds Redis (and every other command on its master)
// for as long as its joins take, a few µs each.
const maxPerCall = 64;

type Waiter = {
  entry: JoinEntry;
  resolve: (joined: JoinOutcome) => void;
  reject: (error: unknown) => void;
};

type Batch = {
  keys: RoomPartKeys;
  startsAtMs: number;
  seen: { epoch: number; ttlSeconds: number };
  waiters: Waiter[];
};

// The joins of one API process, gathered per partition until the requests read in the same
// turn of the event loop are all in (setImmediate), then sent as one room-join-5.lua call per
// partition. A crowd joining at once costs one script call per batch instead of one per buyer:
// a call's command and dispatch were half of Redis's CPU per join and a fifth of the API's
// (bench/README.md, "The join's front door and batches"). A lone join waits for nothing but
// the end of its turn. The script answers each buyer as its own call would, in their order.
export class JoinBatcher {
  private readonly pending = new Map<string, Batch>();
  private scheduled = false;

  constructor(private readonly target: RoomTarget) {}

  join(
    keys: RoomPartKeys,
    startsAtMs: number,
    seen: { epoch: number; ttlSeconds: number },
    entry: JoinEntry,
  ): Promise<JoinOutcome> {
    // The epoch names the seen bitmap, and a batch writes one: joins across an epoch's end
    // (or a start moved by an admin) go in batches of their own.
    const id = `${keys.buyers}|${startsAtMs}|${seen.epoch}|${seen.ttlSeconds}`;
    const batch = this.pending.get(id) ?? { keys, startsAtMs, seen, waiters: [] };
    this.pending.set(id, batch);
    const promise = new Promise<JoinOutcome>((resolve, reject) => {
      batch.waiters.push({ entry, resolve, reject });
    });
    if (batch.waiters.length >= maxPerCall) {
      this.pending.delete(id);
      this.send(batch);
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return promise;
  }

  private flush(): void {
    this.scheduled = false;
    const batches = [...this.pending.values()];
    this.pending.clear();
    for (const batch of batches) this.send(batch);
  }

  private send({ keys, startsAtMs, seen, waiters }: Batch): void {
    const entries = waiters.map((w) => w.entry);
    joinScript(this.target, keys, startsAtMs, seen, entries).then(
      (joined) => {
        waiters.forEach((w, i) => w.resolve(typeof joined === 'string' ? joined : joined[i]!));
      },
      (error: unknown) => {
        for (const w of waiters) w.reject(error);
      },
    );
  }
}
