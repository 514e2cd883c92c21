import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { load, loadAtRate } from './load.js';
import { LatencyByStatus } from './latency-by-status.js';
import { coresBetween, type CpuSample } from './cpu.js';

export type OverloadSpec = {
  // The same API with ADMISSION=off: the capacity is what the machine gives when nothing is
  // refused (flat out, autocannon retries a 503 at once, ignoring Retry-After, so a limited
  // API would measure that retry storm instead).
  unlimitedUrl: string;
  baseUrl: string | string[];
  path: string;
  tokens: readonly string[];
  seconds: number;
  // Samples the CPU of the run's processes (./cpu.ts), for the cost of each answer.
  sampleCpu?: () => CpuSample;
};

export type StatusLatency = ReturnType<LatencyByStatus['summary']>;

export type OverloadResult = {
  // 202s of all three runs: orders the drain must confirm before the next measure.
  acceptedTotal: number;
  // Flat out at 200 connections with admission off: the capacity.
  capacity: { perSecond: number; accepted: StatusLatency; shed: number };
  // Flat out at 200 connections with admission on: a retry storm of 503s.
  flatOutLimited: { perSecond: number; shedPerSecond: number; accepted: StatusLatency };
  // The capacity's rate offered at a fixed pace: nothing should be shed.
  atCapacity: { offered: number; perSecond: number; accepted: StatusLatency; shed: number };
  // Three times that rate from 1,000 connections.
  overload: {
    offered: number;
    connections: number;
    perSecond: number;
    shedPerSecond: number;
    accepted: StatusLatency;
    shed: StatusLatency;
    // The same after the first second, once the 1,000 connections are open: a crowd connecting
    // at once waits for the API to accept it, and those first requests alone are 2% of the run.
    steady: { accepted: StatusLatency; shed: StatusLatency };
    other: Record<string, number>;
    // One more buyer in a process of its own (./probe.ts): latency without autocannon's.
    probe: {
      202: StatusLatency;
      503: StatusLatency;
      // After its first second, as `steady` above.
      steady: { 202: StatusLatency; 503: StatusLatency };
      other: number;
      slow: { atMs: number; ms: number; status: number; newConnection: boolean }[];
    } | null;
  };
  // Cores used during the capacity run and the 3x run, by process (./cpu.ts).
  cores: { capacity: Record<string, number>; overload: Record<string, number> } | null;
};

const probeScript = fileURLToPath(new URL('probe.ts', import.meta.url));
const probeIntervalMs = 20;
const connectionsOpenMs = 1_000;

// The probe's purchases during `seconds`, or null if it could not run.
async function probe(url: string, tokens: readonly string[], seconds: number) {
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', probeScript, url, String(probeIntervalMs), String(seconds)],
      { env: { ...process.env, PROBE_TOKENS: tokens.join(',') }, timeout: (seconds + 30) * 1000 },
    );
    return JSON.parse(stdout.trim()) as NonNullable<OverloadResult['overload']['probe']>;
  } catch {
    return null;
  }
}

const overloadConnections = 1_000;

// (h) The accepted path overloaded, as an operator would try it: its capacity flat out at 200
// connections (admission off), the same with admission on, the capacity's rate offered at a
// fixed pace, then three times it from 1,000 connections.
// Latency is each request's own, kept by status.
export async function overloadMeasure(spec: OverloadSpec): Promise<OverloadResult> {
  const base = { baseUrl: spec.baseUrl, path: spec.path, tokens: spec.tokens, rotate: true };
  const flat = new LatencyByStatus();
  const capacityCpu = spec.sampleCpu?.();
  const capacityRun = await load({
    ...base,
    baseUrl: spec.unlimitedUrl,
    connections: 200,
    seconds: spec.seconds,
    onLatency: flat.record,
  });
  const capacity = Math.round(capacityRun.rate(202));
  const capacityCores =
    capacityCpu && spec.sampleCpu && coresBetween(capacityCpu, spec.sampleCpu());

  const storm = new LatencyByStatus();
  const stormRun = await load({
    ...base,
    connections: 200,
    seconds: spec.seconds,
    onLatency: storm.record,
  });

  const paced = new LatencyByStatus();
  const atCapacityRun = await loadAtRate(
    { ...base, onLatency: paced.record },
    capacity,
    spec.seconds,
    overloadConnections,
  );

  const { over, offered, overloadRun, probed, overloadCores } = await threeTimes(spec, capacity);
  const other = Object.fromEntries(
    Object.entries(overloadRun.byStatus).filter(([status]) => status !== '202' && status !== '503'),
  );
  return {
    acceptedTotal:
      flat.count(202) +
      storm.count(202) +
      paced.count(202) +
      over.count(202) +
      (probed?.[202].count ?? 0),
    capacity: { perSecond: capacity, accepted: flat.summary(202), shed: flat.count(503) },
    flatOutLimited: {
      perSecond: Math.round(stormRun.rate(202)),
      shedPerSecond: Math.round(stormRun.rate(503)),
      accepted: storm.summary(202),
    },
    atCapacity: {
      offered: capacity,
      perSecond: Math.round(atCapacityRun.rate(202)),
      accepted: paced.summary(202),
      shed: paced.count(503),
    },
    overload: {
      offered,
      connections: overloadConnections,
      perSecond: Math.round(overloadRun.rate(202)),
      shedPerSecond: Math.round(overloadRun.rate(503)),
      accepted: over.summary(202),
      shed: over.summary(503),
      steady: {
        accepted: over.summaryAfter(202, connectionsOpenMs),
        shed: over.summaryAfter(503, connectionsOpenMs),
      },
      other,
      probe: probed,
    },
    cores:
      capacityCores && overloadCores ? { capacity: capacityCores, overload: overloadCores } : null,
  };
}

// Three times the capacity offered from 1,000 connections, with one more buyer probing.
async function threeTimes(spec: OverloadSpec, capacity: number) {
  const base = { baseUrl: spec.baseUrl, path: spec.path, tokens: spec.tokens, rotate: true };
  const over = new LatencyByStatus();
  const offered = 3 * capacity;
  const baseUrls = Array.isArray(spec.baseUrl) ? spec.baseUrl : [spec.baseUrl];
  const probeTokens = spec.tokens.slice(-50);
  const overloadCpu = spec.sampleCpu?.();
  const [overloadRun, probed] = await Promise.all([
    load({
      ...base,
      connections: overloadConnections,
      seconds: spec.seconds,
      overallRate: offered,
      onLatency: over.record,
    }),
    probe(`${baseUrls[0]}${spec.path}`, probeTokens, spec.seconds),
  ]);
  const overloadCores =
    overloadCpu && spec.sampleCpu && coresBetween(overloadCpu, spec.sampleCpu());
  return { over, offered, overloadRun, probed, overloadCores };
}

// What the machine leaves the system at 3x. The load generator shares the two cores, and at 3x
// it needs more of them than at capacity; so do the other tenants. What the system's processes
// had in the capacity run bought the capacity; at 3x they can have at most what the load
// generator and the others left of the most the machine gave in either run. Even if a 503 cost
// nothing, goodput at 3x is at most that share of the capacity. Null without CPU figures.
export function goodputBound(result: OverloadResult) {
  if (!result.cores) return null;
  const sum = (cores: Record<string, number>, keep: (name: string) => boolean) =>
    Object.entries(cores)
      .filter(([name]) => keep(name))
      .reduce((total, [, used]) => total + used, 0);
  const notOurs = (name: string) => name === 'everything else' || name === 'load generator';
  const { capacity, overload } = result.cores;
  const machine = Math.max(
    sum(capacity, () => true),
    sum(overload, () => true),
  );
  const systemAtCapacity = sum(capacity, (name) => !notOurs(name));
  const leftAt3x = machine - sum(overload, notOurs);
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    machineCores: round(machine),
    systemCoresAtCapacity: round(systemAtCapacity),
    loadGeneratorCores: {
      capacity: capacity['load generator'] ?? 0,
      at3x: overload['load generator'] ?? 0,
    },
    systemCoresLeftAt3x: round(leftAt3x),
    goodputRatioBound: round(Math.min(1, leftAt3x / systemAtCapacity)),
  };
}
