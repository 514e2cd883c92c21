import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Code, codeName } from '../codes.js';
import { codesUsed, luaSource, readLua } from './lua-source.js';
import { scriptFiles } from './registry.js';

const files = Object.values(scriptFiles).map((file) => `${file}.lua`);

// The header block a script opens with: keys, args and returns.
const headerOf = (file: string) => /^--\[\[([\s\S]*?)\]\]/.exec(readLua(file))?.[1] ?? '';

describe('the scripts in lua/', () => {
  it('are all registered, one script per file', () => {
    const onDisk = readdirSync(new URL('../../../lua/', import.meta.url)).filter((name) =>
      name.endsWith('.lua'),
    );
    expect([...files].sort()).toEqual(onDisk.sort());
  });

  it('use only codes of the table, each named in their header', () => {
    for (const file of files) {
      const used = codesUsed(luaSource(file));
      expect(used.size, `${file} returns codes`).toBeGreaterThan(0);
      const header = headerOf(file);
      for (const name of used) {
        expect(Object.keys(Code), `${file} uses Code.${name}`).toContain(name);
        expect(header, `${file}'s header names ${name}`).toMatch(new RegExp(`\\b${name}\\b`));
      }
    }
  });

  it('list their keys and arguments in their header', () => {
    for (const file of files) {
      const count = Number(/-(\d+)\.lua$/.exec(file)?.[1]);
      for (let key = 1; key <= count; key++) expect(headerOf(file)).toContain(`KEYS[${key}]`);
    }
  });

  it('have every include written in, once', () => {
    for (const file of files) {
      const source = luaSource(file);
      expect(source, file).not.toMatch(/@include/);
      for (const fn of source.matchAll(/^local function (\w+)/gm)) {
        expect(source.split(`local function ${fn[1]}(`), `${file}: ${fn[1]}`).toHaveLength(2);
      }
    }
    expect(luaSource('release-4.lua')).toContain('local function publishIfReopened(');
  });
});

describe('the include preprocessor', () => {
  const tree: Record<string, string> = {
    'main.lua': '--- @include "includes/a"\n--- @include "includes/b"\nreturn 1',
    'includes/a.lua': '--- @include "b"\nlocal a = 1',
    'includes/b.lua': 'local b = 2',
    'loop.lua': '--- @include "includes/loop"',
    'includes/loop.lua': '--- @include "../loop"',
  };
  const read = (path: string) => {
    const text = tree[path];
    if (text === undefined) throw new Error(`no ${path}`);
    return text;
  };

  it('writes each include in place of its line, once, after the code table', () => {
    const [table, ...lines] = luaSource('main.lua', read).split('\n');
    expect(table).toMatch(/^local Code = setmetatable\(\{ OK = 0,/);
    expect(lines.filter((line) => line !== '')).toEqual(['local b = 2', 'local a = 1', 'return 1']);
  });

  it('refuses an include cycle', () => {
    expect(() => luaSource('loop.lua', read)).toThrow(/include cycle/);
  });
});

describe('the code table', () => {
  it('gives every code one value', () => {
    const values = Object.values(Code);
    expect(new Set(values).size).toBe(values.length);
  });

  it('names a code a script answered, and refuses one it does not have', () => {
    expect(codeName(-3, 'reserve-7')).toBe('SOLD_OUT');
    expect(() => codeName(99, 'reserve-7')).toThrow(/no known code/);
    expect(() => codeName('0', 'reserve-7')).toThrow(/no known code/);
  });
});
