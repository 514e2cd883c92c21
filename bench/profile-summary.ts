// npx tsx bench/profile-summary.ts <file.cpuprofile | directory> [top]
// Prints where a V8 CPU profile (node --cpu-prof) spends its time: self time by function and
// by file, as shares of the busy (non-idle) samples. Given a directory, it reads the largest
// profile under it (its folders too, as --profile writes one per process): the main thread's,
// not that of tsx's loader thread.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

type Node = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
};
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[] };

const [given, topArg] = process.argv.slice(2);
if (!given) throw new Error('usage: profile-summary <file.cpuprofile | directory> [top]');
const profilesUnder = (dir: string) =>
  (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f));
const file = statSync(given).isDirectory()
  ? profilesUnder(given).sort((a, b) => statSync(b).size - statSync(a).size)[0]
  : given;
if (!file) throw new Error(`no .cpuprofile under ${given}`);
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) =>
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
);
const idle = new Set(
  profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id),
);
const total = [...selfUs].filter(([id]) => !idle.has(id)).reduce((a, [, us]) => a + us, 0);
for (const id of idle) selfUs.delete(id);

const shorten = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/.*node_modules\//, '~/')
    .replace(/.*\/(src|bench)\//, '$1/') || '(native)';
const tally = (key: (n: Node) => string) => {
  const sums = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const k = key(byId.get(id)!);
    sums.set(k, (sums.get(k) ?? 0) + us);
  }
  return [...sums].sort((a, b) => b[1] - a[1]).slice(0, top);
};
const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;

process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s busy\n\nself time by function\n`);
for (const [k, us] of tally(
  (n) =>
    `${n.callFrame.functionName || '(anonymous)'}  ${shorten(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`,
))
  process.stdout.write(`  ${pct(us)}  ${k}\n`);
process.stdout.write('\nself time by file / package\n');
for (const [k, us] of tally((n) => {
  const s = shorten(n.callFrame.url);
  return s.startsWith('~/')
    ? s
        .split('/')
        .slice(0, s.startsWith('~/@') ? 3 : 2)
        .join('/')
    : s;
}))
  process.stdout.write(`  ${pct(us)}  ${k}\n`);
