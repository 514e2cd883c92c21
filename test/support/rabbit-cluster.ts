import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { clusterDirs, createNode, stopNodes, type RabbitNode } from './rabbit-node.js';
import { freePortIn } from './local-servers.js';

export type { RabbitNode } from './rabbit-node.js';

// A RabbitMQ cluster of a test's own: `size` nodes of the installed rabbitmq-server on this
// machine, each with its own node name, AMQP and distribution ports, data, log and pid files,
// sharing one Erlang cookie, joined with `rabbitmqctl join_cluster`. The shared broker
// (rabbit@localhost on 5672) is never named: every command here carries `-n <node>`.
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

// Below the kernel's ephemeral range (32768+), so that no outgoing connection takes a port
// while its node is down and a restart finds it free again.
const freeFixedPort = (taken: Set<number>) => freePortIn(taken, { from: 20_000, span: 12_000 });

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
  clusterDirs.add(dir);
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
    clusterDirs.delete(dir);
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
      clusterDirs.delete(dir);
    },
  };
}
