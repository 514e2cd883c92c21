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
