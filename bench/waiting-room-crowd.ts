// The crowd of a room after its start, as one driver: every buyer is asked for once (the draw
// tells each their position), then the buyers nearest the front are asked for again and again,
// and a buyer the room admits buys at once with the pass. A real crowd polls every place at
// the pace the room asks; the cost of those polls is measured apart (bench/waiting-room.ts),
// and this driver spends its requests where they decide when the units sell.
export type CrowdSpec = {
  apiUrls: string[];
  saleId: number;
  tokens: readonly string[];
  tickets: readonly (string | undefined)[];
  stock: number;
  concurrency: number;
  timeoutMs: number;
  // How many buyers nearest the front are polled after the first round.
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

type Place = { state: string; position: number | null; pass?: string; reason?: string };

class Crowd {
  readonly position: Float64Array;
  readonly done: Uint8Array;
  readonly buys: { i: number; pass: string }[] = [];
  readonly pollStatus: Record<string, number> = {};
  readonly purchaseStatus: Record<string, number> = {};
  readonly purchaseMs: number[] = [];
  polls = 0;
  admitted = 0;
  sold = 0;
  lastSoldAt = 0;
  closed = false;
  private sweep = 0;
  private front: number[] | null = null;
  private frontAt = 0;
  private roundRobin = 0;

  constructor(private readonly spec: CrowdSpec) {
    this.position = new Float64Array(spec.tickets.length).fill(Infinity);
    this.done = new Uint8Array(spec.tickets.length);
  }

  private url(i: number) {
    return this.spec.apiUrls[i % this.spec.apiUrls.length]!;
  }

  private auth(i: number) {
    return { authorization: `Bearer ${this.spec.tokens[i]}` };
  }

  async poll(i: number): Promise<void> {
    this.polls += 1;
    const answer = await fetch(`${this.url(i)}/sales/${this.spec.saleId}/queue`, {
      headers: { ...this.auth(i), 'x-queue-ticket': this.spec.tickets[i]! },
    });
    count(this.pollStatus, answer.status);
    if (answer.status !== 200) return void (await answer.arrayBuffer());
    const place = (await answer.json()) as Place;
    if (place.state === 'admitted' && place.pass) {
      this.done[i] = 1;
      this.admitted += 1;
      this.buys.push({ i, pass: place.pass });
    } else if (place.state === 'closed') {
      this.done[i] = 1;
      // One buyer's pass expiring closes their place, not the line.
      if (place.reason !== 'PASS_EXPIRED') this.closed = true;
    } else if (place.position !== null) {
      this.position[i] = place.position;
    }
  }

  async buy({ i, pass }: { i: number; pass: string }): Promise<void> {
    const began = performance.now();
    const answer = await fetch(`${this.url(i)}/sales/${this.spec.saleId}/purchase`, {
      method: 'POST',
      headers: { ...this.auth(i), 'content-type': 'application/json', 'x-queue-pass': pass },
      body: '{"quantity":1}',
    });
    await answer.arrayBuffer();
    this.purchaseMs.push(performance.now() - began);
    count(this.purchaseStatus, answer.status);
    if (answer.status === 202) {
      this.sold += 1;
      this.lastSoldAt = Date.now();
    }
  }

  // The next request: a purchase first, then the first round, then the front of the line.
  next(): (() => Promise<void>) | null {
    const purchase = this.buys.shift();
    if (purchase) return () => this.buy(purchase);
    const { tickets } = this.spec;
    while (this.sweep < tickets.length && (!tickets[this.sweep] || this.done[this.sweep])) {
      this.sweep++;
    }
    if (this.sweep < tickets.length) {
      const i = this.sweep++;
      return () => this.poll(i);
    }
    if (!this.front) {
      this.front = [...this.position.keys()].filter((i) => !this.done[i] && tickets[i]);
      this.front.sort((a, b) => this.position[a]! - this.position[b]!);
    }
    const front = this.front;
    while (this.frontAt < front.length && this.done[front[this.frontAt]!]) this.frontAt++;
    if (this.frontAt >= front.length) return null;
    const span = Math.min(this.spec.window ?? 2_000, front.length - this.frontAt);
    const i = front[this.frontAt + (this.roundRobin++ % span)]!;
    return this.done[i] ? () => Promise.resolve() : () => this.poll(i);
  }
}

const count = (into: Record<string, number>, status: number) =>
  (into[status] = (into[status] ?? 0) + 1);

export async function sellThroughRoom(spec: CrowdSpec): Promise<CrowdResult> {
  const crowd = new Crowd(spec);
  const deadline = performance.now() + spec.timeoutMs;
  const finished = () =>
    crowd.sold >= spec.stock ||
    (crowd.closed && crowd.buys.length === 0) ||
    performance.now() > deadline;
  const worker = async () => {
    while (!finished()) {
      const task = crowd.next();
      if (!task) return;
      await task().catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
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
