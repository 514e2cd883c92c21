import { expect, it } from 'vitest';
import { SingleFlight } from './single-flight.js';

// single flight
it('shares one run per key while it is in flight, and starts anew after it settles', async () => {
  const flight = new SingleFlight<number, string>();
  const started: number[] = [];
  const release: (() => void)[] = [];
  const start = (key: number) => () => {
    started.push(key);
    return new Promise<string>((resolve) => release.push(() => resolve(`v${key}`)));
  };
  const a = flight.run(1, start(1));
  const b = flight.run(1, start(1));
  const c = flight.run(2, start(2));
  expect(a).toBe(b);
  expect(started).toEqual([1, 2]);
  release.forEach((r) => r());
  expect(await Promise.all([a, b, c])).toEqual(['v1', 'v1', 'v2']);
  const again = flight.run(1, start(1));
  expect(again).not.toBe(a);
  expect(started).toEqual([1, 2, 1]);
  release.at(-1)!();
  expect(await again).toBe('v1');
});

it('lets the next caller try again after a failure', async () => {
  const flight = new SingleFlight<string, number>();
  await expect(flight.run('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
  expect(await flight.run('k', () => Promise.resolve(7))).toBe(7);
});
