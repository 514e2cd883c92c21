import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './env.js';

const run = promisify(execFile);

// A RabbitMQ cluster of a test's own: `size` nodes of the installed rabbitmq-server on this
// machine, each with its own node name, AMQP and distribution ports, data, log and pid files,
// sharing one Erlang cookie, joined with `rabbitmqctl join_cluster`. The shared broker
// (rabbit@localhost on 5672) is never named: every command here carries `-n <node>`.
export type RabbitNode = {
  name: string;
  port: number;
  distPort: number;
  // amqp://guest:guest@127.0.0.1:<port>/<vhost>
  url: (vhost?: string) => string;
  // rabbitmqctl -n <node> <args>
  ctl: (...args: string[]) => Promise<string>;
  // rabbitmq-queues -n <node> <args>
  queues: (...args: string[]) => Promise<string>;
  // rabbitmq-server -detached, from whatever its directory holds, then await_startup.
  start: () => Promise<void>;
  // rabbitmqctl stop, waiting for the process to exit.
  stop: () => Promise<void>;
  // SIGKILL, as a host crash does; resolves once the process is gone.
  kill9: () => Promise<void>;
  // The last lines of its log, for failure messages.
  log: () => Promise<string>;
};

export type QueueStatus = { leader: string; members: string[]; online: string[] };

export type RabbitCluster = {
  nodes: RabbitNode[];
  dir: string;
  // AMQP_URL naming every node, in this order (the default: the nodes' own).
  urls: (vhost?: string, order?: RabbitNode[]) => string;
  // A quorum queue's leader and members, as the first running node answers.
  queue: (vhost: string, name: string) => Promise<QueueStatus | undefined>;
  nodeNamed: (name: string) => RabbitNode;
  stop: () => Promise<void>;
};

// The scripts themselves: /usr/sbin's wrappers run them again as the rabbitmq user (su),
// which could read neither this cluster's directory nor its cookie.
const binDir = ['/usr/lib/rabbitmq/bin'].find((dir) => existsSync(dir));
const bin = (name: string) => (binDir ? path.join(binDir, name) : name);

const pidFiles = new Set<string>();
const dirs = new Set<string>();

const pidIn = (file: string): number | undefined => {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
};

// A test process that dies without its afterAll must not leave an Erlang VM behind.
const killLeftovers = () => {
  for (const file of pidFiles) {
    const pid = pidIn(file);
    try {
      if (pid) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  pidFiles.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
};
process.on('exit', killLeftovers);
// A signal's default action skips 'exit' handlers: clean up, then let the signal act.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killLeftovers();
    process.kill(process.pid, signal);
  });
}

async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  try {
    await once(server, 'listening');
  } catch {
    return false;
  }
  server.close();
  await once(server, 'close');
  return true;
}

// Below the kernel's ephemeral range (32768+), so that no outgoing connection takes a port
// while its node is down and a restart finds it free again.
async function freeFixedPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (!taken.has(port) && (await isFree(port))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port for a RabbitMQ node');
}

// A zombie still answers kill(pid, 0); /proc says whether it runs.
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
};

type NodePlan = { name: string; port: number; distPort: number; dir: string };

function createNode(clusterDir: string, plan: NodePlan): RabbitNode {
  const pidFile = path.join(plan.dir, 'rabbit.pid');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Erlang reads the cookie from $HOME/.erlang.cookie: this cluster's, not root's.
    HOME: clusterDir,
    // Not /etc/rabbitmq's files, which name the shared node and its port.
    RABBITMQ_CONF_ENV_FILE: path.join(clusterDir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: path.join(clusterDir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(clusterDir, 'enabled_plugins'),
    RABBITMQ_NODENAME: plan.name,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(plan.port),
    RABBITMQ_DIST_PORT: String(plan.distPort),
    RABBITMQ_MNESIA_BASE: path.join(plan.dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(plan.dir, 'log'),
    RABBITMQ_PID_FILE: pidFile,
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
  pidFiles.add(pidFile);
  const cli =
    (tool: string) =>
    async (...args: string[]) => {
      const { stdout } = await run(bin(tool), ['-n', plan.name, '-q', ...args], {
        env,
        timeout: 60_000,
      });
      return stdout;
    };
  const ctl = cli('rabbitmqctl');
  const start = async () => {
    await run(bin('rabbitmq-server'), ['-detached'], { env, timeout: 30_000 });
    // await_startup fails at once while the node has not registered with epmd yet.
    await waitFor(
      () =>
        ctl('await_startup', '--timeout', '60').then(
          () => true,
          () => false,
        ),
      {
        timeoutMs: 90_000,
        intervalMs: 300,
        what: `${plan.name} started`,
      },
    );
  };
  const kill9 = async () => {
    const pid = pidIn(pidFile);
    if (!pid || !alive(pid)) return;
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => !alive(pid), { what: `${plan.name} gone after SIGKILL` });
  };
  const stop = async () => {
    const pid = pidIn(pidFile);
    if (!pid || !alive(pid)) return;
    await ctl('stop', pidFile);
  };
  const log = async () => {
    const file = path.join(plan.dir, 'log', `${plan.name}.log`);
    const text = await readFile(file, 'utf8').catch(() => '');
    return text.split('\n').slice(-40).join('\n');
  };
  return {
    name: plan.name,
    port: plan.port,
    distPort: plan.distPort,
    url: (vhost = '/') => `amqp://guest:guest@127.0.0.1:${plan.port}/${encodeURIComponent(vhost)}`,
    ctl,
    queues: cli('rabbitmq-queues'),
    start,
    stop,
    kill9,
    log,
  };
}

// Stops every node: `rabbitmqctl stop`, then SIGKILL for any that did not go.
async function stopNodes(nodes: RabbitNode[]): Promise<void> {
  await Promise.all(
    nodes.map(async (node) => {
      try {
        await node.stop();
      } catch {
        await node.kill9().catch(() => undefined);
      }
    }),
  );
  await Promise.all(nodes.map((node) => node.kill9().catch(() => undefined)));
}

async function writeClusterFiles(dir: string): Promise<void> {
  await writeFile(path.join(dir, '.erlang.cookie'), randomBytes(24).toString('hex'), {
    mode: 0o400,
  });
  await writeFile(path.join(dir, 'rabbitmq-env.conf'), '');
  // No plugins: a node starts in a few seconds.
  await writeFile(path.join(dir, 'enabled_plugins'), '[].\n');
  // What docs/operations.md asks of a production cluster: the minority side of a split stops
  // serving instead of taking writes the majority never sees.
  await writeFile(path.join(dir, 'rabbitmq.conf'), 'cluster_partition_handling = pause_minority\n');
}

// Starts the nodes at once, then joins every other node to the first.
export async function startRabbitCluster(size = 3): Promise<RabbitCluster> {
  // .ci/run names a directory of its own, to stop what a leg killed at its limit left running.
  const base = process.env.TEST_RABBIT_CLUSTER_DIR ?? tmpdir();
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(path.join(base, 'fl-rabbit-'));
  dirs.add(dir);
  const id = randomBytes(3).toString('hex');
  const taken = new Set<number>();
  const nodes: RabbitNode[] = [];
  try {
    await writeClusterFiles(dir);
    for (let i = 1; i <= size; i++) {
      const nodeDir = path.join(dir, `n${i}`);
      await mkdir(nodeDir);
      const plan = {
        name: `flt${i}-${id}@localhost`,
        port: await freeFixedPort(taken),
        distPort: await freeFixedPort(taken),
        dir: nodeDir,
      };
      nodes.push(createNode(dir, plan));
    }
    await Promise.all(nodes.map((node) => node.start()));
    const [first, ...others] = nodes;
    await Promise.all(others.map((node) => node.ctl('stop_app')));
    // One at a time: each join changes the cluster's schema.
    for (const node of others) await node.ctl('join_cluster', first!.name);
    await Promise.all(others.map((node) => node.ctl('start_app')));
  } catch (error) {
    await stopNodes(nodes);
    await rm(dir, { recursive: true, force: true });
    dirs.delete(dir);
    throw error;
  }
  return clusterOf(dir, nodes);
}

function clusterOf(dir: string, nodes: RabbitNode[]): RabbitCluster {
  const nodeNamed = (name: string) => {
    const node = nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name} in this cluster`);
    return node;
  };
  const queue = async (vhost: string, name: string) => {
    for (const node of nodes) {
      const out = await node
        .ctl(
          'list_queues',
          '-p',
          vhost,
          'name',
          'leader',
          'members',
          'online',
          '--formatter',
          'json',
        )
        .catch(() => undefined);
      if (out === undefined) continue;
      const rows = JSON.parse(out) as (QueueStatus & { name: string })[];
      const row = rows.find((r) => r.name === name);
      return row && { leader: row.leader, members: row.members, online: row.online };
    }
    return undefined;
  };
  return {
    nodes,
    dir,
    urls: (vhost = '/', order = nodes) => order.map((node) => node.url(vhost)).join(','),
    queue,
    nodeNamed,
    stop: async () => {
      await stopNodes(nodes);
      await rm(dir, { recursive: true, force: true });
      dirs.delete(dir);
    },
  };
}
