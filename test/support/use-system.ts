import { afterAll, beforeAll } from 'vitest';
import { closeSystem, openSystem } from './system.js';

export type OpenSystem = Awaited<ReturnType<typeof openSystem>>;
// Settings of the environment, or a function giving them once the hooks before run (for a
// setting only known then, such as a server of the test's own).
export type Overrides = Record<string, string> | (() => Record<string, string>);

// openSystem for the tests of a file (or a describe): opened before them, closed after them,
// as much of it as opened. Its fields (env, sut, api) are set once the tests run.
export function useSystem(name: string, overrides: Overrides = {}): OpenSystem {
  const opened = {} as OpenSystem;
  beforeAll(async () => {
    const settings = typeof overrides === 'function' ? overrides() : overrides;
    Object.assign(opened, await openSystem(name, settings));
  });
  afterAll(() => closeSystem(opened.sut, opened.env));
  return opened;
}
