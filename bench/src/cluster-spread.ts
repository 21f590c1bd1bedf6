import { Agent, request } from 'node:http';
import { setTimeout as wait } from 'node:timers/promises';
import {
  LOAD_TEST_ENV,
  spawnWeb,
  spawnWorker,
  startRedisCluster,
  type ClusterNode,
  type RedisCluster,
} from '@flotilla/testkit';
import { printEnvironment, runConcurrently } from './harness/index.js';

// Enough jobs for each master's share to be read to a per cent; a few seconds on two cores.
const JOBS = 6000;
const WARMUP_JOBS = 300;
// Like a web process with this many submissions open at once.
const CONCURRENCY = 32;
const SLEEP_INPUT = JSON.stringify({ ms: 0, steps: 1 });
const SHARD_COUNTS = [1, 3] as const;
// A master kept at this share of its core leaves room for bursts and failover.
const TARGET_UTILISATION = 0.7;
const TARGET_RATES = [10_000, 100_000] as const;

/** What one master did during a drain. */
interface MasterLoad {
  readonly slots: string;
  readonly commands: number;
  readonly cpuMs: number;
}

/**
 * How the Redis work of Flotilla's jobs spreads over the masters of a local three-master Redis
 * Cluster, unsharded and with QUEUE_SHARDS=3: `JOBS` sleep jobs (0 ms, one progress report)
 * submitted over HTTP to a web and drained by a worker, both started afresh per shard count.
 * Each master's commands (INFO commandstats, the benchmark's own INFO/CONFIG calls left out)
 * and CPU time (INFO cpu) over the submissions and the drain give its share of the work; their
 * sum per job feeds a capacity model: how many jobs per second one master's core carries, and
 * how many masters a target rate needs. Counted, not timed: the shares do not depend on how
 * busy the machine is, and the CPU per job only a little.
 */
export async function runClusterSpread(): Promise<void> {
  console.log(
    `\n## Redis Cluster spread: ${JOBS} jobs over HTTP, 3 masters, QUEUE_SHARDS ${SHARD_COUNTS.join(' and ')}\n`,
  );
  printEnvironment();
  const cluster = await startRedisCluster({ masters: 3, args: ['--maxmemory-policy', 'noeviction'] });
  const cpuPerJobUs: number[] = [];
  try {
    for (const shards of SHARD_COUNTS) {
      const loads = await drainOnCluster(cluster, shards);
      const totalCommands = loads.reduce((sum, m) => sum + m.commands, 0);
      const totalCpuMs = loads.reduce((sum, m) => sum + m.cpuMs, 0);
      cpuPerJobUs.push((totalCpuMs * 1000) / JOBS);
      console.log(`\nQUEUE_SHARDS=${shards}: per master, over ${JOBS} jobs submitted and drained\n`);
      console.log('| master (slots) | commands | share | CPU ms | share | CPU µs/job |');
      console.log('|---|---:|---:|---:|---:|---:|');
      for (const m of loads)
        console.log(
          `| ${m.slots} | ${m.commands} | ${percent(m.commands / totalCommands)} | ${m.cpuMs.toFixed(0)} | ${percent(m.cpuMs / totalCpuMs)} | ${((m.cpuMs * 1000) / JOBS).toFixed(1)} |`,
        );
      const even = 1 / loads.length;
      const spread = (shares: number[]): string =>
        `${percent(Math.max(...shares.map((s) => Math.abs(s - even) / even)))} off an even third`;
      console.log(
        `\nWidest share: commands ${spread(loads.map((m) => m.commands / totalCommands))}, CPU ${spread(loads.map((m) => m.cpuMs / totalCpuMs))}. Redis CPU per job, all masters: ${((totalCpuMs * 1000) / JOBS).toFixed(1)} µs; commands per job: ${(totalCommands / JOBS).toFixed(1)}.`,
      );
    }
  } finally {
    await cluster.stop();
  }
  printCapacityModel(Math.max(...cpuPerJobUs));
}

/** Starts a web and worker on the cluster, submits and drains the jobs, and reads each master's load. */
async function drainOnCluster(cluster: RedisCluster, shards: number): Promise<MasterLoad[]> {
  const env = {
    ...LOAD_TEST_ENV,
    REDIS_URL: cluster.url,
    QUEUE_PREFIX: `{spread-${shards}}`,
    QUEUE_SHARDS: String(shards),
    LOG_LEVEL: 'warn',
    WEB_CONCURRENCY: '1',
  };
  const [web, worker] = await Promise.all([spawnWeb(env), spawnWorker(env)]);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    await runConcurrently(WARMUP_JOBS, CONCURRENCY, () => submit(agent, web.url));
    await drained(agent, web.url);
    const before = await Promise.all(cluster.masters.map(readMaster));
    await runConcurrently(JOBS, CONCURRENCY, () => submit(agent, web.url));
    await drained(agent, web.url);
    const after = await Promise.all(cluster.masters.map(readMaster));
    return cluster.masters.map((master, i) => ({
      slots: master.slots ? `${master.slots[0]}–${master.slots[1]}` : '?',
      commands: (after[i]?.commands ?? 0) - (before[i]?.commands ?? 0),
      cpuMs: ((after[i]?.cpuSeconds ?? 0) - (before[i]?.cpuSeconds ?? 0)) * 1000,
    }));
  } finally {
    agent.destroy();
    await Promise.all([web.stop(), worker.stop()]);
  }
}

/** A master's command calls so far (its INFO and CONFIG calls left out) and its CPU seconds. */
async function readMaster(master: ClusterNode): Promise<{ commands: number; cpuSeconds: number }> {
  const [stats, cpu] = await Promise.all([master.admin.info('commandstats'), master.admin.info('cpu')]);
  const commands = [...stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)]
    .filter(([, name]) => name !== 'info' && !name?.startsWith('config'))
    .reduce((sum, [, , calls]) => sum + Number(calls), 0);
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  return { commands, cpuSeconds: field('used_cpu_sys') + field('used_cpu_user') };
}

async function submit(agent: Agent, base: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = request(
      `${base}/api/jobs/sleep`,
      {
        agent,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(SLEEP_INPUT) },
      },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 202 ? resolve() : reject(new Error(`answered ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(SLEEP_INPUT);
  });
}

/** Resolves once the default queue has nothing waiting or running, as GET /api/queues says. */
async function drained(agent: Agent, base: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const body = await new Promise<string>((resolve, reject) => {
      request(`${base}/api/queues`, { agent }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve(text));
      })
        .on('error', reject)
        .end();
    });
    const queue = (JSON.parse(body) as { queues: { name: string; counts: Record<string, number> }[] }).queues.find(
      (q) => q.name === 'default',
    );
    const open = (queue?.counts['waiting'] ?? 0) + (queue?.counts['active'] ?? 0) + (queue?.counts['prioritized'] ?? 0);
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`${open} jobs still open after 120 s`);
    await wait(250);
  }
}

/** Jobs per second one master carries, and masters needed for the target rates. */
function printCapacityModel(cpuPerJobUs: number): void {
  const perMaster = (TARGET_UTILISATION * 1_000_000) / cpuPerJobUs;
  console.log(
    `\nCapacity model, from the larger Redis CPU per job above (${cpuPerJobUs.toFixed(1)} µs, all masters together):`,
  );
  console.log(`- one master at ${percent(TARGET_UTILISATION)} of its core carries ${Math.floor(perMaster)} jobs/s`);
  for (const rate of TARGET_RATES)
    console.log(`- ${rate} jobs/s needs ${Math.ceil(rate / perMaster)} masters, and QUEUE_SHARDS at least that`);
}

function percent(share: number): string {
  return `${(share * 100).toFixed(0)} %`;
}

if (import.meta.main) await runClusterSpread();
