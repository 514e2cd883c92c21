import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './env.js';
import { cleanUpOnExit, killQuietly } from './local-servers.js';

const run = promisify(execFile);

// One node of a test's RabbitMQ cluster (test/support/rabbit-cluster.ts): the installed
// rabbitmq-server run with its own name, ports, data, log and pid files, and the cluster's
// cookie. Every command carries `-n <node>`: the shared broker (rabbit@localhost) is never named.
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

// The scripts themselves: /usr/sbin's wrappers run them again as the rabbitmq user (su),
// which could read neither this cluster's directory nor its cookie.
const binDir = ['/usr/lib/rabbitmq/bin'].find((dir) => existsSync(dir));
const bin = (name: string) => (binDir ? path.join(binDir, name) : name);

const pidFiles = new Set<string>();
// The clusters' directories, removed with their nodes.
export const clusterDirs = new Set<string>();

const pidIn = (file: string): number | undefined => {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
};

// A test process that dies without its afterAll must not leave an Erlang VM behind.
cleanUpOnExit(() => {
  for (const file of pidFiles) {
    const pid = pidIn(file);
    if (pid) killQuietly(pid);
  }
  pidFiles.clear();
  for (const dir of clusterDirs) rmSync(dir, { recursive: true, force: true });
  clusterDirs.clear();
});

// A zombie still answers kill(pid, 0); /proc says whether it runs.
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
};

export type NodePlan = { name: string; port: number; distPort: number; dir: string };

// The environment rabbitmq-server and the CLI read for this node.
function nodeEnv(clusterDir: string, plan: NodePlan, pidFile: string): NodeJS.ProcessEnv {
  return {
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
}

export function createNode(clusterDir: string, plan: NodePlan): RabbitNode {
  const pidFile = path.join(plan.dir, 'rabbit.pid');
  const env = nodeEnv(clusterDir, plan, pidFile);
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
export async function stopNodes(nodes: RabbitNode[]): Promise<void> {
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
