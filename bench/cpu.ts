import { readdirSync, readFileSync } from 'node:fs';

// CPU time of the processes that take part in a measure, from /proc (Linux only; elsewhere
// every figure is empty). The shared services (RabbitMQ, Redis, PostgreSQL) also serve
// whatever else runs on the machine, so their share is an upper bound for this run.
const clockTicksPerSecond = 100;
const services: Record<string, string[]> = {
  rabbitmq: ['beam.smp'],
  redis: ['redis-server'],
  postgres: ['postgres'],
};

function ticksOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

// CPU seconds (user and system) the processes have used so far; 10 ms resolution.
export function cpuSecondsOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + ticksOf(pid), 0) / clockTicksPerSecond;
}

function pidsNamed(names: string[]): number[] {
  const pids: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (names.includes(comm)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

// Busy CPU time of the whole machine (all cores), from the first line of /proc/stat.
function machineBusySeconds(): number {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    return (user + nice + system + irq + softirq + steal) / clockTicksPerSecond;
  } catch {
    return 0;
  }
}

const machineKey = 'machine';

export type CpuSample = { at: number; seconds: Record<string, number> };

export function sampleCpu(children: Record<string, number | undefined>): CpuSample {
  const seconds: Record<string, number> = {};
  for (const [name, pid] of Object.entries(children)) {
    if (pid !== undefined) seconds[name] = ticksOf(pid) / clockTicksPerSecond;
  }
  seconds['load generator'] = ticksOf(process.pid) / clockTicksPerSecond;
  for (const [name, comms] of Object.entries(services)) {
    seconds[name] =
      pidsNamed(comms).reduce((sum, pid) => sum + ticksOf(pid), 0) / clockTicksPerSecond;
  }
  seconds[machineKey] = machineBusySeconds();
  return { at: performance.now(), seconds };
}

// Cores used by each process between two samples (1.0 = one core busy the whole time), and
// `everything else`: what the rest of the machine (other users' work included) used.
export function coresBetween(before: CpuSample, after: CpuSample): Record<string, number> {
  const wall = (after.at - before.at) / 1000;
  const cores: Record<string, number> = {};
  let ours = 0;
  for (const [name, seconds] of Object.entries(after.seconds)) {
    const used = (seconds - (before.seconds[name] ?? 0)) / wall;
    if (name !== machineKey) ours += used;
    cores[name] = Math.round(100 * used) / 100;
  }
  const machine = cores[machineKey] ?? 0;
  delete cores[machineKey];
  if (machine > 0) cores['everything else'] = Math.max(0, Math.round(100 * (machine - ours)) / 100);
  return cores;
}
