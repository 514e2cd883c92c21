import type { Redis } from 'ioredis';

export type CommandStats = Map<string, { calls: number; usec: number }>;

// Redis's own count and time per command since its start (INFO commandstats). A command run
// inside a script counts both under its own name and under the script's EVALSHA.
export async function commandStats(redis: Redis): Promise<CommandStats> {
  const stats: CommandStats = new Map();
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (match) stats.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

export const isScript = (command: string) => command === 'evalsha' || command === 'eval';

export type MasterSample = { cpuSeconds: number; scriptCalls: number; calls: number };

// A Redis server's CPU seconds since its start (INFO cpu, user + sys) and its command and
// script calls: two samples bracket a phase.
export async function sampleMaster(redis: Redis): Promise<MasterSample> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
  let scriptCalls = 0;
  let calls = 0;
  for (const [name, stat] of await commandStats(redis)) {
    if (isScript(name)) scriptCalls += stat.calls;
    calls += stat.calls;
  }
  return { cpuSeconds: field('used_cpu_user') + field('used_cpu_sys'), scriptCalls, calls };
}
