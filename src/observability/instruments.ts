import { Counter, Histogram, type Registry } from 'prom-client';

// A counter or histogram registered on one registry: the declarations of every metrics module,
// each one line instead of a block.
export function counter<T extends string = string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly T[] = [],
): Counter<T> {
  return new Counter<T>({ name, help, labelNames, registers: [registry] });
}

export function histogram<T extends string = string>(
  registry: Registry,
  name: string,
  help: string,
  buckets: number[],
  labelNames: readonly T[] = [],
): Histogram<T> {
  return new Histogram<T>({ name, help, buckets, labelNames, registers: [registry] });
}

// A metrics module's counters and histograms as a table: `counter` or `histogram` names the
// kind and the metric. `zero` lists values of the one label whose series exist from the
// start, so rate() and alerts see them before the first event.
type Definition = { help: string; labels?: readonly string[] } & (
  { counter: string; zero?: readonly string[] } | { histogram: string; buckets: readonly number[] }
);

type LabelOf<D> = D extends { labels: readonly (infer L extends string)[] } ? L : string;

export type Instruments<T extends Record<string, Definition>> = {
  [K in keyof T]: T[K] extends { histogram: string }
    ? Histogram<LabelOf<T[K]>>
    : Counter<LabelOf<T[K]>>;
};

export function instruments<const T extends Record<string, Definition>>(
  registry: Registry,
  table: T,
): Instruments<T> {
  const made = Object.entries(table).map(([key, { help, labels = [], ...kind }]) => {
    if ('histogram' in kind) {
      return [key, histogram(registry, kind.histogram, help, [...kind.buckets], labels)];
    }
    const made = counter(registry, kind.counter, help, labels);
    for (const value of kind.zero ?? []) made.inc({ [labels[0]!]: value }, 0);
    return [key, made];
  });
  return Object.fromEntries(made) as Instruments<T>;
}
