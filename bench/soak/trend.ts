import type { Sample } from './samples.js';

// A figure grows without bound when, over the last half of the run, a least-squares line
// through it rises by more than `share` of its level (and by more than its `floor`, so that a
// few bytes of noise on a small figure do not count), and fits well (r² > 0.5): a line
// through a sawtooth or a step does not.
export type Trend = {
  figure: string;
  level: number;
  perMinute: number;
  rise: number;
  r2: number;
  grows: boolean;
};

const floors: [RegExp, number][] = [
  [/\.(rss|heap|usedMemory)$/, 16 * 1024 * 1024],
  [/\.handles$/, 20],
  [/\.lagP99$/, 0.05],
  [/^redis\.keys$/, 2_000],
  [/^rabbitmq\./, 50],
  [/^postgres\./, 5],
];
const share = 0.2;
// Figures that grow by design up to a cap the run may not reach: shown, not judged.
export const byDesign = ['redis.retainedJobs'];

function fit(points: [number, number][]) {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const r2 = sxx === 0 || syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  return { slope, r2, mean: my };
}

// Only the samples of one process's current instance count: a process restarted by a fault
// starts its memory afresh (its start time tells).
function pointsOf(samples: Sample[], figure: string): [number, number][] {
  const proc = figure.split('.')[0];
  const startedAt = samples.at(-1)?.figures[`${proc}.startedAt`];
  return samples
    .filter((s) => startedAt === undefined || s.figures[`${proc}.startedAt`] === startedAt)
    .map((s): [number, number] => [s.at / 60_000, s.figures[figure] ?? Number.NaN])
    .filter(([, y]) => Number.isFinite(y));
}

export function trends(samples: Sample[]): Trend[] {
  const half = samples.slice(Math.floor(samples.length / 2));
  const names = new Set(half.flatMap((s) => Object.keys(s.figures)));
  const result: Trend[] = [];
  for (const figure of [...names].sort()) {
    if (figure.endsWith('.startedAt') || byDesign.includes(figure)) continue;
    const points = pointsOf(half, figure);
    if (points.length < 4) continue;
    const { slope, r2, mean } = fit(points);
    const minutes = points.at(-1)![0] - points[0]![0];
    const rise = slope * minutes;
    const floor = floors.find(([pattern]) => pattern.test(figure))?.[1] ?? 0;
    const grows = rise > Math.max(share * Math.abs(mean), floor) && r2 > 0.5;
    result.push({ figure, level: mean, perMinute: slope, rise, r2, grows });
  }
  return result;
}
