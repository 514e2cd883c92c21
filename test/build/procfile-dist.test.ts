import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readProcfile } from '../../src/cmd/procfile.js';
import { createTestEnv, services, waitFor, type TestEnv } from '../support/env.js';
import { client } from '../support/system.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));

// What production runs, laid out as the image lays it out: the build of `tsconfig.build.json`
// in dist/, beside package.json, the Procfile, lua/, migrations/, web/ and node_modules/, and no
// src/: a built process that still reached for a TypeScript source would fail here.
async function packageRoot(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'flashline-dist-'));
  const build = [
    path.join(repo, 'node_modules/typescript/bin/tsc'),
    ...['-p', 'tsconfig.build.json', '--outDir', path.join(root, 'dist')],
  ];
  await run(process.execPath, build, { cwd: repo, timeout: 240_000 }).catch(
    (error: { stdout?: string }) => {
      throw new Error(`the build failed:\n${error.stdout ?? String(error)}`);
    },
  );
  for (const file of ['package.json', 'Procfile']) {
    await copyFile(path.join(repo, file), path.join(root, file));
  }
  for (const dir of ['lua', 'migrations', 'node_modules', 'web']) {
    await symlink(path.join(repo, dir), path.join(root, dir), 'dir');
  }
  return root;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

type Started = {
  name: string;
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<number | null>;
  output: () => string;
};

// Runs one Procfile line the way `npm start` and a process manager do: through the shell,
// from the package root, `node` taken from PATH, tsx nowhere in sight.
function startLine(root: string, name: string, command: string, env: NodeJS.ProcessEnv): Started {
  const child = spawn(`exec ${command}`, {
    cwd: root,
    shell: true,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let isReady: () => void = () => undefined;
  let failed: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    isReady = resolve;
    failed = reject;
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) {
        lines.push(line);
        if (line.includes('"msg":"ready"')) isReady();
      }
    });
  }
  // Awaited by the test; marked handled so a process that dies late is not also reported.
  ready.catch(() => undefined);
  const output = () => lines.slice(-30).join('\n');
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      failed(new Error(`${name} (${command}) exited ${code} before it was ready:\n${output()}`));
      resolve(code);
    }),
  );
  return { name, child, ready, exited, output };
}

// the Procfile processes, built
let root: string;
let env: TestEnv;
const started: Started[] = [];
const freshDatabase = () => `${env.env.DATABASE_URL}_dist`;

beforeAll(async () => {
  root = await packageRoot();
  env = await createTestEnv('procfiledist');
}, 300_000);
afterAll(async () => {
  for (const { child } of started) if (child.exitCode === null) child.kill('SIGKILL');
  if (env) {
    const admin = new pg.Client({ connectionString: `${services.postgres}/postgres` });
    await admin.connect();
    const name = new URL(freshDatabase()).pathname.slice(1);
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
    await env.cleanup();
  }
  if (root) await rm(root, { recursive: true, force: true });
});

it('migrates a new database from dist/', async () => {
  const url = freshDatabase();
  const { stdout } = await run(process.execPath, ['dist/cmd/migrate.js'], {
    cwd: root,
    env: { ...process.env, ...env.env, DATABASE_URL: url, LOG_LEVEL: 'info' },
    timeout: 60_000,
  }).catch((error: { stdout?: string; stderr?: string }) => {
    throw new Error(`dist/cmd/migrate.js failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
  });
  expect(stdout).toContain('"msg":"migrations applied"');
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const { rows } = await db.query<{ orders: string | null; sales: string | null }>(
      "SELECT to_regclass('orders') AS orders, to_regclass('sales') AS sales",
    );
    expect(rows[0]).toEqual({ orders: 'orders', sales: 'sales' });
  } finally {
    await db.end();
  }
});

it('starts every Procfile process from dist/, ready and healthy, sells, and stops on SIGTERM', async () => {
  const entries = readProcfile(path.join(root, 'Procfile'));
  expect(entries.map((e) => e.name)).toEqual(['api', 'bridge', 'worker', 'compensator', 'events']);
  const ports = {
    api: await freePort(),
    bridge: await freePort(),
    worker: await freePort(),
    compensator: await freePort(),
    events: await freePort(),
  };
  const processEnv = {
    ...process.env,
    ...env.env,
    LOG_LEVEL: 'info',
    NODE_OPTIONS: '',
    PORT: String(ports.api),
    BRIDGE_PORT: String(ports.bridge),
    WORKER_PORT: String(ports.worker),
    COMPENSATOR_PORT: String(ports.compensator),
    EVENTS_PORT: String(ports.events),
  };
  for (const entry of entries) {
    started.push(startLine(root, entry.name, entry.command, processEnv));
  }
  await Promise.all(started.map((s) => s.ready));

  for (const { name } of started) {
    const port = ports[name as keyof typeof ports];
    const probe = name === 'api' ? '/readyz' : '/healthz';
    const answer = await fetch(`http://127.0.0.1:${port}${probe}`);
    expect(answer.status, `${name} ${probe}`).toBe(200);
  }

  // The whole pipeline, built: the gate's Lua from lua/, the bridge, the worker's row.
  const api = client(`http://127.0.0.1:${ports.api}`, env);
  const sale = await api.createSale({ sku: 'dist-1', name: 'Built', stock: 2 });
  expect(sale.status).toBe(201);
  const bought = await api.purchase(sale.body.id as number, 'alice');
  expect(bought.status).toBe(202);
  const orderId = bought.body.orderId as string;
  await waitFor(async () => (await api.order(orderId, 'alice')).body?.status === 'confirmed', {
    what: `order ${orderId} confirmed`,
    timeoutMs: 60_000,
  });

  for (const { child } of started) child.kill('SIGTERM');
  const codes = await Promise.all(started.map((s) => s.exited));
  expect(
    Object.fromEntries(started.map((s, i) => [s.name, codes[i]])),
    started.map((s) => `${s.name}:\n${s.output()}`).join('\n'),
  ).toEqual({ api: 0, bridge: 0, worker: 0, compensator: 0, events: 0 });
});
