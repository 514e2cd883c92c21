import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestEnv } from './env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export type Child = {
  name: string;
  process: ChildProcess;
  // Resolves when the process logged "ready"; rejects if it exits first.
  ready: Promise<void>;
  exited: Promise<Exit>;
  // The last lines it wrote, for failure messages.
  output: () => string;
  // The first JSON log line with this `msg`, parsed.
  logged: (msg: string) => Record<string, unknown> | undefined;
  kill: (signal: NodeJS.Signals) => void;
};

const running = new Set<Child>();

// Starts a Procfile process (`src/cmd/<name>.ts`) as a real child with the test env's
// variables, the way an operator runs it.
export function spawnProcess(
  name: string,
  env: TestEnv,
  overrides: Record<string, string> = {},
): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', `src/cmd/${name}.ts`], {
    cwd: root,
    env: { ...process.env, ...env.env, LOG_LEVEL: 'info', ...overrides },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let isReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (isReady = resolve));
  // A pipe hands over chunks cut anywhere, so the unfinished end of one waits for the next.
  const collector = () => {
    let partial = '';
    return (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (!line) continue;
        lines.push(line);
        if (lines.length > 200) lines.shift();
        if (line.includes('"msg":"ready"')) isReady();
      }
    };
  };
  child.stdout.on('data', collector());
  child.stderr.on('data', collector());
  // 'close', not 'exit': only then has everything the process wrote been read, its last line
  // ("stopped") included.
  const exited = new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const handle: Child = {
    name,
    process: child,
    ready: Promise.race([
      ready,
      exited.then((exit) => {
        throw new Error(
          `${name} exited before ready (${JSON.stringify(exit)}):\n${lines.join('\n')}`,
        );
      }),
    ]),
    exited,
    output: () => lines.join('\n'),
    logged: (msg) => {
      const line = lines.find((l) => l.includes(`"msg":${JSON.stringify(msg)}`));
      return line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
    },
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  return handle;
}

// For afterAll: no child outlives its test file.
export async function killAll(): Promise<void> {
  const children = [...running];
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(children.map((child) => child.exited));
}
