import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { luaCodeTable } from '../codes.js';

const luaDir = new URL('../../../lua/', import.meta.url);

// BullMQ's include line (src/commands/script-loader.ts): `--- @include "<path>"`, the path
// relative to the including file, without `.lua`.
const includeLine = /^-{2,3}[ \t]*@include[ \t]+(["'])(.+?)\1[; \t]*$/gm;

export type ReadLua = (path: string) => string;

export const readLua: ReadLua = (path) => readFileSync(new URL(path, luaDir), 'utf8');

// A script as Redis runs it: the code table first (../codes.ts), then the file, each include
// written in place of its line. An include already written into the script is left out the
// next time, so shared Lua may include what it needs without defining it twice.
export function luaSource(file: string, read: ReadLua = readLua): string {
  return `${luaCodeTable()}\n${expand(file, read, new Set([file]), [file])}`;
}

function expand(path: string, read: ReadLua, written: Set<string>, chain: string[]): string {
  return read(path).replace(includeLine, (_line, _quote, target: string) => {
    const included = `${posix.join(posix.dirname(path), target)}.lua`;
    if (chain.includes(included)) {
      throw new Error(`lua include cycle: ${[...chain, included].join(' -> ')}`);
    }
    if (written.has(included)) return '';
    written.add(included);
    return expand(included, read, written, [...chain, included]).trimEnd();
  });
}

// The names of the codes a script uses (`Code.NAME`), its includes included.
export function codesUsed(source: string): Set<string> {
  return new Set([...source.matchAll(/\bCode\.([A-Za-z_]+)/g)].map((match) => match[1] ?? ''));
}
