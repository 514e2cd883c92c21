import { describe, expect, it } from 'vitest';
import { parseProcfile, readProcfile } from './procfile.js';
import { fileURLToPath } from 'node:url';

describe('parseProcfile', () => {
  it('reads name: command lines and skips comments and blanks', () => {
    expect(parseProcfile('# processes\napi: node a.js --x\n\nworker:node w.js\n')).toEqual([
      { name: 'api', command: 'node a.js --x' },
      { name: 'worker', command: 'node w.js' },
    ]);
  });

  it('refuses a line without a name', () => {
    expect(() => parseProcfile('node a.js')).toThrow(/without a name/);
  });

  it("names the repository's processes, each running the build of a source that exists", async () => {
    const entries = readProcfile(fileURLToPath(new URL('../../Procfile', import.meta.url)));
    expect(entries.map((e) => e.name)).toEqual(expect.arrayContaining(['api', 'bridge', 'worker']));
    const { existsSync } = await import('node:fs');
    for (const entry of entries) {
      // The Procfile runs compiled JavaScript: dist/cmd/<name>.js is built from src/cmd/<name>.ts.
      const built = /^node dist\/cmd\/([a-z-]+)\.js$/.exec(entry.command)?.[1];
      expect(built, entry.command).toBeDefined();
      expect(existsSync(fileURLToPath(new URL(`./${built}.ts`, import.meta.url)))).toBe(true);
    }
  });
});
