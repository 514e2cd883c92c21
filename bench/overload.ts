import { load, loadAtRate } from './load.js';
import { LatencyByStatus } from './latency-by-status.js';

export type OverloadSpec = {
  // The same API with ADMISSION=off: the capacity is what the machine gives when nothing is
  // refused (flat out, autocannon retries a 503 at once, ignoring Retry-After, so a limited
  // API would measure that retry storm instead).
  unlimitedUrl: string;
  baseUrl: string | string[];
  path: string;
  tokens: readonly string[];
  seconds: number;
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
    accepted: StatusLatency;
    shed: StatusLatency;
    other: Record<string, number>;
  };
};

const overloadConnections = 1_000;

// (h) The accepted path overloaded, as an operator would try it: its capacity flat out at 200
// connections (admission off), the same with admission on, the capacity's rate offered at a
// fixed pace, then three times it from 1,000 connections.
// Latency is each request's own, kept by status.
export async function overloadMeasure(spec: OverloadSpec): Promise<OverloadResult> {
  const base = { baseUrl: spec.baseUrl, path: spec.path, tokens: spec.tokens, rotate: true };
  const flat = new LatencyByStatus();
  const capacityRun = await load({
    ...base,
    baseUrl: spec.unlimitedUrl,
    connections: 200,
    seconds: spec.seconds,
    onLatency: flat.record,
  });
  const capacity = Math.round(capacityRun.rate(202));

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

  const over = new LatencyByStatus();
  const offered = 3 * capacity;
  const overloadRun = await load({
    ...base,
    connections: overloadConnections,
    seconds: spec.seconds,
    overallRate: offered,
    onLatency: over.record,
  });
  const other = Object.fromEntries(
    Object.entries(overloadRun.byStatus).filter(([status]) => status !== '202' && status !== '503'),
  );
  return {
    acceptedTotal: flat.count(202) + storm.count(202) + paced.count(202) + over.count(202),
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
      accepted: over.summary(202),
      shed: over.summary(503),
      other,
    },
  };
}
