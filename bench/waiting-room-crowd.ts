// The crowd of a room after its start, as one driver. A real crowd of 100,000 polls every
// place at the pace the room asks (`pollAfterMs`: 2 s in the prequeue, down to 250 ms near the
// front), 50,000 polls a second that one driver on this machine cannot send; the cost of those
// polls is the poll step's (bench/waiting-room.ts). Here every buyer's first poll after the
// start, which tells each their rank, is read from the draw itself (bench/waiting-room.ts
// reads the drawn order), and the `window` buyers nearest the front poll the API each at the
// pace the room asks them, as their pages would; one who leaves the window (admitted, closed)
// is replaced by the next in rank. An admitted buyer buys at once with the pass (purchases
// have `concurrency` connections of their own), and again after Retry-After when shed, as the
// page does.
import { writeFileSync } from 'node:fs';
import { Pool, type Dispatcher } from 'undici';
import { pollAfterOf } from '../src/room/poll-after.js';

export type CrowdSpec = {
  apiUrls: string[];
  saleId: number;
  tokens: readonly string[];
  tickets: readonly (string | undefined)[];
  // The buyers (indexes of tokens and tickets) in the order the draw ranked them.
  byRank: readonly number[];
  stock: number;
  concurrency: number;
  timeoutMs: number;
  // How many buyers nearest the front poll at once.
  window?: number;
};

export type CrowdResult = {
  polls: number;
  pollStatus: Record<string, number>;
  admitted: number;
  purchaseStatus: Record<string, number>;
  sold: number;
  // Date.now() of the last 202.
  lastSoldAt: number;
  purchaseMs: { p50: number; p99: number; max: number };
  timedOut: boolean;
};

// A place's answer in the prequeue before the start (ROOM_POLL_AFTER_MS's default base): the
// interval a window buyer's page was polling at when the sale started.
const prequeueAnswer = {
  state: 'prequeue',
  position: null,
  ahead: null,
  etaSeconds: null,
} as const;
const beforeStart = { baseMs: 2_000, nowMs: 0, startsAtMs: 1 };

type Place = { state: string; pollAfterMs?: number; pass?: string; reason?: string };
type Due = { at: number; i: number };

// Buyers by the time of their next poll, earliest first (a binary heap).
class DueHeap {
  private readonly items: Due[] = [];

  get size() {
    return this.items.length;
  }

  push(item: Due): void {
    const items = this.items;
    items.push(item);
    for (let k = items.length - 1; k > 0;) {
      const parent = (k - 1) >> 1;
      if (items[parent]!.at <= items[k]!.at) break;
      [items[parent], items[k]] = [items[k]!, items[parent]!];
      k = parent;
    }
  }

  pop(): Due | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || !last) return top;
    items[0] = last;
    for (let k = 0; ;) {
      const [l, r] = [2 * k + 1, 2 * k + 2];
      let min = k;
      if (l < items.length && items[l]!.at < items[min]!.at) min = l;
      if (r < items.length && items[r]!.at < items[min]!.at) min = r;
      if (min === k) break;
      [items[min], items[k]] = [items[k]!, items[min]!];
      k = min;
    }
    return top;
  }
}

// undici's pools, one per API process: the driver shares the machine's two cores with the
// system, and node:http's client took some 75 µs of CPU a request against undici's 45 (1,000s
// of polls and purchases a second), so the crowd's own cost squeezed the purchases it times.
function client(concurrency: number) {
  const pools = new Map<string, Pool>();
  const poolOf = (origin: string) => {
    let pool = pools.get(origin);
    if (!pool) pools.set(origin, (pool = new Pool(origin, { connections: 2 * concurrency })));
    return pool;
  };
  const send = async (
    [origin, path]: [string, string],
    method: Dispatcher.HttpMethod,
    headers: Record<string, string>,
    body?: string,
  ) => {
    const answer = await poolOf(origin).request({ path, method, headers, body });
    const text = await answer.body.text();
    const retryAfter = Number(answer.headers['retry-after'] ?? 0);
    return { status: answer.statusCode, text, retryAfter };
  };
  const close = () => Promise.all([...pools.values()].map((pool) => pool.close()));
  return { send, close };
}

const count = (into: Record<string, number>, status: number) =>
  (into[status] = (into[status] ?? 0) + 1);

class Crowd {
  readonly buys: { i: number; pass: string }[] = [];
  readonly due = new DueHeap();
  readonly pollStatus: Record<string, number> = {};
  readonly purchaseStatus: Record<string, number> = {};
  readonly purchaseMs: number[] = [];
  // Each purchase: ms from the crowd's start to its sending, its duration, its status.
  readonly trace: [number, number, number][] = [];
  readonly startedAt = performance.now();
  readonly http: ReturnType<typeof client>;
  // Purchase workers waiting for a buyer to be admitted.
  private readonly idle: (() => void)[] = [];
  polls = 0;
  admitted = 0;
  sold = 0;
  lastSoldAt = 0;
  closed = false;
  // Purchases waiting out a Retry-After.
  retrying = 0;
  private nextRank = 0;

  constructor(private readonly spec: CrowdSpec) {
    this.http = client(spec.concurrency);
    const now = performance.now();
    for (let k = 0; k < (spec.window ?? 2_000); k++) this.enter(now, true);
  }

  // The next buyer in rank order enters the window. Its page was polling all along at the
  // pace the room asked, so its next poll falls anywhere in that interval: at the start, in
  // the prequeue's hint (half the base to the base, by its place); later, in up to 1 s, the
  // hint of an ETA of about 2 s (the window's depth at the outflow's ceiling). Due at once,
  // the whole window polled together at the start, and its admissions were bought in bursts
  // no crowd of pages sends (bench/README.md, "The front's return spread").
  private enter(now: number, atStart = false): void {
    const { byRank, tickets } = this.spec;
    while (this.nextRank < byRank.length && !tickets[byRank[this.nextRank]!]) this.nextRank++;
    if (this.nextRank >= byRank.length) return;
    const i = byRank[this.nextRank++]!;
    const place = Number(tickets[i]!.split('.')[1]);
    const interval = atStart ? pollAfterOf(prequeueAnswer, place, beforeStart) : 1_000;
    this.due.push({ at: now + Math.random() * interval, i });
  }

  private admit(purchase: { i: number; pass: string }): void {
    this.buys.push(purchase);
    this.idle.shift()?.();
  }

  // Every waiting purchase worker woken: to buy, or to see the crowd finished.
  wakeAll(): void {
    for (const wake of this.idle.splice(0)) wake();
  }

  private url(i: number, what: string): [string, string] {
    const base = this.spec.apiUrls[i % this.spec.apiUrls.length]!;
    return [base, `/sales/${this.spec.saleId}/${what}`];
  }

  private auth(i: number) {
    return { authorization: `Bearer ${this.spec.tokens[i]}` };
  }

  async poll(i: number): Promise<void> {
    this.polls += 1;
    const headers = { ...this.auth(i), 'x-queue-ticket': this.spec.tickets[i]! };
    const answer = await this.http
      .send(this.url(i, 'queue'), 'GET', headers)
      .catch(() => ({ status: 0, text: '', retryAfter: 0 }));
    count(this.pollStatus, answer.status);
    const now = performance.now();
    if (answer.status !== 200) return this.due.push({ at: now + 250, i });
    const place = JSON.parse(answer.text) as Place;
    if (place.state === 'admitted' && place.pass) {
      this.admitted += 1;
      this.admit({ i, pass: place.pass });
      this.enter(now);
    } else if (place.state === 'closed') {
      // One buyer's pass expiring closes their place, not the line.
      if (place.reason !== 'PASS_EXPIRED') this.closed = true;
      this.enter(now);
    } else {
      this.due.push({ at: now + (place.pollAfterMs ?? 2_000), i });
    }
  }

  async buy({ i, pass }: { i: number; pass: string }): Promise<void> {
    const began = performance.now();
    const headers = { ...this.auth(i), 'content-type': 'application/json', 'x-queue-pass': pass };
    const answer = await this.http.send(this.url(i, 'purchase'), 'POST', headers, '{"quantity":1}');
    this.purchaseMs.push(performance.now() - began);
    this.trace.push([began - this.startedAt, performance.now() - began, answer.status]);
    count(this.purchaseStatus, answer.status);
    if (answer.status === 202) {
      this.sold += 1;
      this.lastSoldAt = Date.now();
    } else if (answer.status === 503 || answer.status === 429) {
      // As the room's page does (web/room/api.js): the same purchase after Retry-After.
      const wait = answer.retryAfter > 0 ? answer.retryAfter * 1000 : 500;
      this.retrying += 1;
      setTimeout(() => {
        this.retrying -= 1;
        this.admit({ i, pass });
      }, wait);
    }
  }

  // A buyer's next purchase: admitted buyers buy at once, each on their own, so purchases
  // have workers of their own and never wait for the polls' (nor slow them down). An idle
  // worker sleeps until a buyer is admitted: woken every 5 ms, the 200 of them cost the
  // driver CPU the system under test shares.
  nextPurchase(): (() => Promise<void>) | null {
    const purchase = this.buys.shift();
    if (purchase) return () => this.buy(purchase);
    return () => new Promise<void>((resolve) => this.idle.push(resolve));
  }

  // The poll due soonest (waited for when not yet).
  nextPoll(): (() => Promise<void>) | null {
    const due = this.due.pop();
    if (!due) {
      if (this.retrying === 0) return null;
      return () => new Promise((resolve) => setTimeout(resolve, 50));
    }
    const wait = due.at - performance.now();
    if (wait <= 0) return () => this.poll(due.i);
    return async () => {
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 50)));
      // Woken early (a purchase may be waiting): back in the heap, still due at its time.
      if (performance.now() < due.at) return this.due.push(due);
      await this.poll(due.i);
    };
  }
}

export async function sellThroughRoom(spec: CrowdSpec): Promise<CrowdResult> {
  const crowd = new Crowd(spec);
  const deadline = performance.now() + spec.timeoutMs;
  const finished = () =>
    crowd.sold >= spec.stock ||
    (crowd.closed && crowd.buys.length === 0 && crowd.retrying === 0) ||
    performance.now() > deadline;
  const worker = (next: () => (() => Promise<void>) | null) => async () => {
    while (!finished()) {
      const task = next();
      if (!task) return;
      await task().catch(() => undefined);
    }
  };
  const polls = worker(() => crowd.nextPoll());
  const purchases = worker(() => crowd.nextPurchase());
  const watch = setInterval(() => finished() && crowd.wakeAll(), 100);
  await Promise.all([
    ...Array.from({ length: spec.concurrency }, polls),
    ...Array.from({ length: spec.concurrency }, purchases),
  ]);
  clearInterval(watch);
  await crowd.http.close();
  // ROOM_CROWD_TRACE=<file>: every purchase's time and duration, to see when the slow ones went.
  const traceFile = process.env.ROOM_CROWD_TRACE;
  if (traceFile) writeFileSync(traceFile, JSON.stringify(crowd.trace));
  const ms = crowd.purchaseMs.sort((a, b) => a - b);
  const at = (q: number) => Math.round(ms[Math.floor(q * (ms.length - 1))] ?? 0);
  return {
    polls: crowd.polls,
    pollStatus: crowd.pollStatus,
    admitted: crowd.admitted,
    purchaseStatus: crowd.purchaseStatus,
    sold: crowd.sold,
    lastSoldAt: crowd.lastSoldAt,
    purchaseMs: { p50: at(0.5), p99: at(0.99), max: at(1) },
    timedOut: performance.now() > deadline,
  };
}
