import { readFileSync } from 'node:fs';

export type ProcfileEntry = { name: string; command: string };

// `name: command` per line; blank lines and # comments are skipped.
export function parseProcfile(text: string): ProcfileEntry[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`Procfile line without a name: ${line}`);
      return { name: line.slice(0, colon).trim(), command: line.slice(colon + 1).trim() };
    });
}

export function readProcfile(path: string): ProcfileEntry[] {
  return parseProcfile(readFileSync(path, 'utf8'));
}
