import { gradient2Step, initialState, type Gradient2State } from './gradient2.js';
import { SystemSignals, type SystemReading } from './system-signals.js';
import { GoodputFloor } from './goodput-floor.js';
import type { AdmissionMetrics } from '../../observability/admission-metrics.js';
import type { Logger } from '../../observability/logger.js';

export type AdmissionOptions = {
  initialLimit: number;
  minLimit: number;
  maxLimit: number;
  windowMs: number;
  // Gradient2's rttTolerance.
  rttTolerance: number;
  // Sentinel-style system rules: above any of these the limit is cut, whatever the latency.
  cpuMax: number;
  heapMax: number;
  // The RSS ceiling: the rule fires at it.
  rssLimitBytes: number;
  // How long the goodput floor remembers a window (./goodput-floor.ts); 0 = no floor.
  floorMemoryMs: number;
};

// What moved the limit in a window: a system rule, the latency gradient, the goodput floor
// holding it up against them, refused demand while the latency showed no queue (slow start),
// or an idle process returning to its initial limit.
export type AdmissionSignal = 'cpu' | 'heap' | 'rss' | 'latency' | 'floor' | 'demand' | 'idle';

// The multiplicative decrease of concurrency-limits' AIMDLimit, used by the system rules.
const backoffRatio = 0.9;
// Sentinel's BBR check looks back this many windows for the best rate and the lowest RTT.
const bbrWindows = 10;

// Adaptive admission in front of the purchase path: at most `limit` purchases in flight in
// this process; the rest are answered 503 at once, before the JWT and the body are read.
// The limit is Netflix concurrency-limits' Gradient2 on the latency this process measures
// (./gradient2.ts), cut further by Alibaba Sentinel's system adaptive protection rules: the
// process's CPU on its event loop (./system-signals.ts; only while in flight exceeds the best rate times the lowest RTT, Sentinel's
// BBR check, so a busy loop with few purchases sheds nothing), the V8 heap against its limit,
// and the RSS against its ceiling. Neither the gradient nor the CPU rule cuts below the goodput
// floor, the concurrency of this process's best recent goodput (./goodput-floor.ts); the memory
// rules do. Under API_PROCESSES each process limits itself.
export class AdaptiveAdmission {
  private state: Gradient2State;
  private readonly signals: SystemSignals;
  private readonly floor: GoodputFloor;
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  // Sum of the admission times of the requests in flight: their mean age in O(1).
  private inFlightStartSum = 0;
  private peakInFlight = 0;
  private finished = 0;
  private refused = 0;
  // Every purchase shed since the start, and every admitted buyer let past the limit: the
  // waiting rooms' admitters read it (../room-signals.ts).
  private shedTotal = 0;
  private rttSumMs = 0;
  private windowStartedAt = 0;
  private readonly recentRates: number[] = [];
  private readonly recentRtts: number[] = [];
  private lastDriver: AdmissionSignal | null = null;
  // The last window's heap or RSS rule fired: nobody gets past the limit.
  private memoryCut = false;
  reading: SystemReading = { cpu: 0, heap: 0, rss: 0 };

  constructor(
    private readonly options: AdmissionOptions,
    private readonly metrics: AdmissionMetrics,
    private readonly logger: Logger,
  ) {
    this.state = initialState(options);
    this.signals = new SystemSignals(options.rssLimitBytes);
    this.floor = new GoodputFloor(Math.ceil(options.floorMemoryMs / options.windowMs));
    metrics.limit.set(Math.floor(this.state.limit));
  }

  get limit(): number {
    return Math.floor(this.state.limit);
  }

  // What this process tells the waiting rooms' admitters: its limit, its purchases in flight,
  // and how many it has shed since it started.
  signal(): { limit: number; inFlight: number; shed: number } {
    return { limit: this.limit, inFlight: this.inFlight, shed: this.shedTotal };
  }

  start(): void {
    if (this.timer) return;
    this.windowStartedAt = performance.now();
    this.signals.read();
    this.timer = setInterval(() => this.endWindow(), this.options.windowMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  // The admission time to hand back to `release`, or null: shed this request. `admitted`: a
  // purchase of a waiting room's sale that carries a pass. The room's outflow and its overbook
  // bound already decide how many of those come (docs/waiting-room.md), and a shed one only
  // comes back after Retry-After, so they are let in up to maxLimit rather than the latency's
  // limit; a memory rule cutting sheds them too. Unverified here: a false pass is refused in
  // memory before any Redis call, and a sale without a room gives no priority.
  tryAcquire(admitted = false): number | null {
    if (this.inFlight >= this.state.limit) {
      // Shed or let past the limit, the rooms' outflow is told as of a shed, and slows down.
      this.shedTotal++;
      if (!admitted || this.memoryCut || this.inFlight >= this.options.maxLimit) {
        this.refused++;
        this.metrics.shed.inc();
        return null;
      }
    }
    const now = performance.now();
    this.inFlight++;
    this.inFlightStartSum += now;
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
    return now;
  }

  release(admittedAt: number): void {
    this.inFlight--;
    this.inFlightStartSum -= admittedAt;
    this.finished++;
    this.rttSumMs += performance.now() - admittedAt;
  }

  private endWindow(): void {
    const now = performance.now();
    const seconds = Math.max(0.001, (now - this.windowStartedAt) / 1000);
    this.windowStartedAt = now;
    const meanAgeMs = this.inFlight > 0 ? now - this.inFlightStartSum / this.inFlight : 0;
    const meanRttMs = this.finished > 0 ? this.rttSumMs / this.finished : 0;
    const shortRttMs =
      this.finished === 0 && this.inFlight === 0 ? null : Math.max(meanRttMs, meanAgeMs);
    const peak = Math.max(this.peakInFlight, this.inFlight);
    remember(this.recentRates, this.finished / seconds);
    if (this.finished > 0) remember(this.recentRtts, meanRttMs);
    this.floor.record(this.finished / seconds, meanRttMs);
    const refused = this.refused;
    this.finished = 0;
    this.refused = 0;
    this.rttSumMs = 0;
    this.peakInFlight = this.inFlight;

    const reading = this.signals.read();
    this.reading = reading;
    const before = this.state.limit;
    const step = gradient2Step(this.options, this.state, { shortRttMs, peakInFlight: peak });
    const rule = this.systemRule(reading, peak);
    this.memoryCut = rule === 'heap' || rule === 'rss';
    if (this.memoryCut) this.floor.reset();
    const floor = Math.min(this.options.maxLimit, this.floor.value);
    let driver: AdmissionSignal = shortRttMs === null ? 'idle' : 'latency';
    let next = step.state.limit;
    if (next < floor) {
      next = floor;
      driver = 'floor';
    }
    // Slow start (TCP's, RFC 5681; concurrency-limits' VegasLimit has one too): purchases were
    // refused in a window whose latency showed no queue, so the limit was short of the demand,
    // not of the system. Gradient2 alone grows by about a fifth of sqrt(limit) a window, and a
    // crowd arriving at a quiet API would be refused for seconds; this grows to the demand
    // seen, at most doubling. The first window whose latency rises stops it.
    if (refused > 0 && shortRttMs !== null && step.gradient >= 1) {
      const demand = Math.min(this.options.maxLimit, before * 2, peak + refused);
      if (demand > next) {
        next = demand;
        driver = 'demand';
      }
    }
    if (rule) {
      const cut = Math.max(this.options.minLimit, Math.min(before, peak) * backoffRatio);
      const bounded = rule === 'cpu' ? Math.max(cut, floor) : cut;
      if (bounded < next) {
        next = bounded;
        driver = rule;
      }
    }
    this.state = { ...step.state, limit: next };

    const limit = Math.floor(this.state.limit);
    const m = this.metrics;
    m.limit.set(limit);
    m.inFlight.set(this.inFlight);
    m.pressure.set({ signal: 'cpu' }, reading.cpu);
    m.pressure.set({ signal: 'heap' }, reading.heap);
    m.pressure.set({ signal: 'rss' }, reading.rss);
    m.pressure.set({ signal: 'latency' }, step.gradient);
    m.floor.set(Math.floor(floor));
    if (limit === Math.floor(before)) return;
    const direction = limit < before ? 'down' : 'up';
    m.changes.inc({ signal: driver, direction });
    if (direction === 'down' && driver !== this.lastDriver) {
      this.logger.warn({ signal: driver, limit, reading, shortRttMs }, 'admission limit lowered');
    }
    this.lastDriver = direction === 'down' ? driver : null;
  }

  private systemRule(reading: SystemReading, peak: number): AdmissionSignal | null {
    if (reading.heap >= this.options.heapMax) return 'heap';
    if (reading.rss >= 1) return 'rss';
    // 1 turns the rule off: a loop that never idles reads exactly 1.
    if (this.options.cpuMax >= 1 || reading.cpu < this.options.cpuMax) return null;
    const bestRate = Math.max(0, ...this.recentRates);
    const lowestRttMs = this.recentRtts.length > 0 ? Math.min(...this.recentRtts) : 0;
    return peak > 1 && peak > (bestRate * lowestRttMs) / 1000 ? 'cpu' : null;
  }
}

function remember(list: number[], value: number): void {
  list.push(value);
  if (list.length > bbrWindows) list.shift();
}
