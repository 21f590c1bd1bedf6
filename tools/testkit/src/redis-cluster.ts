import { freePort, startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { Redis } from 'ioredis';
import { waitFor } from './wait-for.js';

const SLOTS = 16_384;

/** One node of a local Redis Cluster. */
export interface ClusterNode {
  readonly server: RedisServer;
  readonly busPort: number;
  /** A direct (non-cluster) connection to this node alone; errors are swallowed. */
  readonly admin: Redis;
  /** The node's cluster id (CLUSTER MYID). */
  readonly id: string;
  /** The slots it serves, `[from, to]`, for a master; undefined for a replica. */
  readonly slots: readonly [number, number] | undefined;
}

/** What a local Redis Cluster is made of. */
export interface RedisClusterOptions {
  readonly masters?: number;
  /** Replicas per master (0 or 1). */
  readonly replicas?: number;
  readonly nodeTimeoutMs?: number;
  /** Further redis-server arguments for every node. */
  readonly args?: readonly string[];
}

/** A running local Redis Cluster, slots split evenly over its masters as `redis-cli --cluster create` does. */
export interface RedisCluster {
  readonly masters: readonly ClusterNode[];
  /** `replicas[i]` replicates `masters[i]`. */
  readonly replicas: readonly ClusterNode[];
  /** `redis+cluster://` URL naming every node, as the services take it in REDIS_URL. */
  readonly url: string;
  /** The master that serves a key's slot (by the slot ranges it started with). */
  masterOf(key: string): Promise<ClusterNode>;
  /** Kills every node and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a Redis Cluster of `masters` masters (and a replica each with `replicas: 1`) on
 * free loopback ports, and resolves once every node agrees the cluster is ok.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masterCount = options.masters ?? 3;
  const replicaCount = options.replicas ?? 0;
  const ranges = Array.from({ length: masterCount }, (_, i): [number, number] => [
    Math.floor((i * SLOTS) / masterCount),
    Math.floor(((i + 1) * SLOTS) / masterCount) - 1,
  ]);
  const nodes = await Promise.all(
    Array.from({ length: masterCount * (1 + replicaCount) }, (_, i) => startNode(options, ranges[i])),
  );
  const masters = nodes.slice(0, masterCount);
  const replicas = nodes.slice(masterCount);
  const stop = async (): Promise<void> => {
    for (const node of nodes) node.admin.disconnect();
    // SIGKILL, then remove the directories: a master stopped with SIGTERM would wait up to
    // Redis's shutdown-timeout (10 s) for a replica that may be gone.
    await Promise.all(
      nodes.map(async ({ server }) => {
        await server.kill('SIGKILL');
        await server.stop();
      }),
    );
  };
  try {
    await Promise.all(masters.map((m) => m.admin.call('CLUSTER', 'ADDSLOTSRANGE', ...(m.slots ?? []))));
    const [first, ...others] = nodes;
    for (const node of others) await first?.admin.call('CLUSTER', 'MEET', '127.0.0.1', node.server.port, node.busPort);
    await waitFor(async () => (await Promise.all(nodes.map(knownNodes))).every((n) => n === nodes.length), {
      timeoutMs: 15_000,
      description: 'every cluster node knows the others',
    });
    await Promise.all(replicas.map((r, i) => r.admin.call('CLUSTER', 'REPLICATE', masters[i % masterCount]?.id ?? '')));
    await waitFor(
      async () =>
        (
          await Promise.all(
            replicas.map(async (r) => /^master_link_status:up/m.test(await r.admin.info('replication'))),
          )
        ).every(Boolean) && (await Promise.all(nodes.map(clusterIsOk))).every(Boolean),
      { timeoutMs: 20_000, description: 'replicas in sync and cluster_state:ok everywhere' },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    masters,
    replicas,
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.server.port}`).join(',')}`,
    async masterOf(key) {
      const slot = Number(await masters[0]?.admin.call('CLUSTER', 'KEYSLOT', key));
      const master = masters.find(({ slots }) => slots !== undefined && slot >= slots[0] && slot <= slots[1]);
      if (!master) throw new Error(`no master serves slot ${slot}`);
      return master;
    },
    stop,
  };
}

async function startNode(options: RedisClusterOptions, slots: [number, number] | undefined): Promise<ClusterNode> {
  // An explicit bus port: the default (port + 10000) may be taken or above 65535.
  const busPort = await freePort();
  const server = await startRedisServer({
    args: [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-port',
      String(busPort),
      '--cluster-node-timeout',
      String(options.nodeTimeoutMs ?? 1000),
      ...(options.args ?? []),
    ],
  });
  const admin = new Redis(server.url, { maxRetriesPerRequest: 1 }).on('error', () => undefined);
  const id = String(await admin.call('CLUSTER', 'MYID'));
  return { server, busPort, admin, id, slots };
}

async function clusterIsOk(node: ClusterNode): Promise<boolean> {
  return /cluster_state:ok/.test(String(await node.admin.call('CLUSTER', 'INFO')));
}

async function knownNodes(node: ClusterNode): Promise<number> {
  return String(await node.admin.call('CLUSTER', 'NODES'))
    .trim()
    .split('\n').length;
}
