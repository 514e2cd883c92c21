import { randomBytes } from 'node:crypto';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './api-process.js';
import { waitFor } from './env.js';
import { cleanUpOnExit, killQuietly } from './local-servers.js';

const run = promisify(execFile);

// A redis-server of a test's own, on a free port and in a temp directory of its own, so a
// test may kill, rewind or empty it without touching the shared Redis on 6379.
export type RedisServer = {
  port: number;
  // redis://127.0.0.1:<port>/0
  url: string;
  dir: string;
  pid: () => number | undefined;
  // Runs redis-cli against this server; resolves with its trimmed output.
  cli: (...args: string[]) => Promise<string>;
  // The process's last lines, for failure messages.
  output: () => string;
  // SIGKILL, as a host crash does; resolves once the process is gone.
  kill9: () => Promise<void>;
  // SIGSTOP / SIGCONT: a server that stops answering without closing its sockets.
  pause: () => void;
  resume: () => void;
  // Starts it again on the same port, from whatever its directory holds now.
  restart: () => Promise<void>;
  // Starts it again on the same port with its files removed: Redis comes back empty.
  restartEmpty: () => Promise<void>;
  // A copy of appendonlydir/ taken while the server runs (the AOF as it stood then).
  copyAof: () => Promise<string>;
  // Puts a copy back in place of appendonlydir/; the server must be down.
  restoreAof: (copy: string) => Promise<void>;
  stop: () => Promise<void>;
};

export type RedisServerOptions = {
  // A port chosen by the caller (a cluster node also needs port + 10000 free).
  port?: number;
  // Another server this one replicates.
  replicaOf?: RedisServer;
  // Started as `redis-server <conf> --sentinel` with this configuration text.
  sentinelConf?: string;
  args?: string[];
};

const started = new Set<RedisServer>();
const pids = new Set<number>();
const dirs = new Set<string>();

// A test process that dies without its afterAll must not leave a redis-server behind.
cleanUpOnExit(() => {
  for (const pid of pids) killQuietly(pid);
  pids.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
});

const aofDir = 'appendonlydir';

// redis-server's command line: a sentinel from its conf file, or a server with an AOF.
async function serverArgs(port: number, dir: string, options: RedisServerOptions) {
  const confPath = path.join(dir, 'sentinel.conf');
  if (options.sentinelConf !== undefined) {
    await writeFile(confPath, `port ${port}\nbind 127.0.0.1\n${options.sentinelConf}`);
  }
  return options.sentinelConf !== undefined
    ? [confPath, '--sentinel', '--dir', dir, '--daemonize', 'no']
    : [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--daemonize',
        'no',
        '--appendonly',
        'yes',
        '--appenddirname',
        aofDir,
        '--appendfsync',
        'everysec',
        '--aof-load-truncated',
        'yes',
        // No rewrite while the test copies the directory: the manifest stays as copied.
        '--auto-aof-rewrite-percentage',
        '0',
        '--save',
        '',
        '--maxmemory-policy',
        'noeviction',
        ...(options.replicaOf ? ['--replicaof', '127.0.0.1', String(options.replicaOf.port)] : []),
        ...(options.args ?? []),
      ];
}

const redisCli =
  (port: number) =>
  async (...command: string[]) =>
    (await run('redis-cli', ['-p', String(port), ...command], { timeout: 10_000 })).stdout.trim();

// The last 100 lines the server printed, for a failure message.
function keepLastLines(proc: ChildProcess, lines: string[]) {
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      lines.push(line);
      if (lines.length > 100) lines.shift();
    }
  };
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = await mkdtemp(path.join(tmpdir(), `fl-redis-${port}-`));
  dirs.add(dir);
  const args = await serverArgs(port, dir, options);

  let child: ChildProcess | undefined;
  const lines: string[] = [];
  const launch = async () => {
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    if (proc.pid !== undefined) pids.add(proc.pid);
    keepLastLines(proc, lines);
    proc.once('exit', () => {
      if (proc.pid !== undefined) pids.delete(proc.pid);
    });
    // PONG only once the server has loaded its files (LOADING before).
    await waitFor(
      async () => {
        if (proc.exitCode !== null || proc.signalCode !== null)
          throw new Error(`redis-server on ${port} exited:\n${lines.join('\n')}`);
        return (await redisCli(port)('ping').catch(() => '')) === 'PONG';
      },
      { timeoutMs: 20_000, intervalMs: 25, what: `redis-server on port ${port}` },
    );
  };
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const kill9 = async () => {
    const proc = child;
    if (!proc || !alive()) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
  };

  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    dir,
    pid: () => child?.pid,
    cli: redisCli(port),
    output: () => lines.join('\n'),
    kill9,
    pause: () => void (alive() && child!.kill('SIGSTOP')),
    resume: () => void (alive() && child!.kill('SIGCONT')),
    restart: async () => {
      await kill9();
      await launch();
    },
    restartEmpty: async () => {
      await kill9();
      await rm(path.join(dir, aofDir), { recursive: true, force: true });
      await rm(path.join(dir, 'dump.rdb'), { force: true });
      await launch();
    },
    copyAof: async () => {
      const copy = await mkdtemp(path.join(tmpdir(), `fl-aof-${port}-`));
      dirs.add(copy);
      await cp(path.join(dir, aofDir), path.join(copy, aofDir), { recursive: true });
      return copy;
    },
    restoreAof: async (copy) => {
      if (alive()) throw new Error(`redis-server on ${port} must be down to restore its AOF`);
      await rm(path.join(dir, aofDir), { recursive: true, force: true });
      await cp(path.join(copy, aofDir), path.join(dir, aofDir), { recursive: true });
    },
    stop: async () => {
      await kill9();
      started.delete(server);
    },
  };
  started.add(server);
  await launch();
  return server;
}

export type Sentinels = {
  name: string;
  servers: RedisServer[];
  // REDIS_SENTINELS: host:port,host:port,...
  addresses: string;
  // The primary the sentinels name now (SENTINEL get-master-addr-by-name).
  primaryPort: () => Promise<number | undefined>;
};

// `count` sentinels watching `primary` under `name`, with a quorum of 2 and timings short
// enough for a failover to complete within seconds.
export async function startSentinels(
  primary: RedisServer,
  name: string,
  count = 3,
): Promise<Sentinels> {
  const conf = [
    'daemonize no',
    'sentinel resolve-hostnames no',
    `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
    `sentinel down-after-milliseconds ${name} 1000`,
    `sentinel failover-timeout ${name} 5000`,
    `sentinel parallel-syncs ${name} 1`,
    '',
  ].join('\n');
  const servers: RedisServer[] = [];
  for (let i = 0; i < count; i++) servers.push(await startRedisServer({ sentinelConf: conf }));
  const primaryPort = async () => {
    for (const sentinel of servers) {
      const answer = await sentinel
        .cli('SENTINEL', 'get-master-addr-by-name', name)
        .catch(() => '');
      const port = Number(answer.split('\n')[1]);
      if (Number.isInteger(port) && port > 0) return port;
    }
    return undefined;
  };
  return {
    name,
    servers,
    addresses: servers.map((s) => `127.0.0.1:${s.port}`).join(','),
    primaryPort,
  };
}

// A primary, its replica in sync and three sentinels that see both.
export async function startSentinelSet() {
  const primary = await startRedisServer();
  const replica = await startRedisServer({ replicaOf: primary });
  await waitFor(
    async () => (await replica.cli('INFO', 'replication')).includes('master_link_status:up'),
    { what: 'the replica in sync' },
  );
  const name = `fl-${randomBytes(4).toString('hex')}`;
  const sentinels = await startSentinels(primary, name);
  await waitFor(
    async () => {
      for (const sentinel of sentinels.servers) {
        const quorum = await sentinel.cli('SENTINEL', 'ckquorum', name).catch(() => '');
        const replicas = await sentinel.cli('SENTINEL', 'replicas', name).catch(() => '');
        if (!quorum.includes('3 usable') || !replicas.includes(String(replica.port))) return false;
      }
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: 'the sentinels to find each other' },
  );

  return { primary, replica, name, sentinels };
}

// The text of every file of a copy's appendonlydir/, to tell which writes the copy holds.
export async function readAof(copy: string): Promise<string> {
  const dir = path.join(copy, aofDir);
  const names = (await readdir(dir)).sort();
  const texts = await Promise.all(names.map((name) => readFile(path.join(dir, name), 'latin1')));
  return texts.join('');
}

// For afterAll: every server this file started is killed and its directories removed.
export async function stopRedisServers(): Promise<void> {
  const servers = [...started];
  await Promise.all(servers.map((server) => server.stop()));
  const removing = [...dirs];
  dirs.clear();
  await Promise.all(removing.map((dir) => rm(dir, { recursive: true, force: true })));
}
