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
import { cacheArticlePage, printEnvironment, runConcurrently } from './harness/index.js';

// Enough jobs for each master's share to be read to a per cent; a few seconds on two cores.
const JOBS = 6000;
const WARMUP_JOBS = 300;
// Like a web process with this many submissions open at once.
const CONCURRENCY = 32;
const SLEEP_INPUT = JSON.stringify({ ms: 0, steps: 1 });
const SHARD_COUNTS = [1, 3] as const;
// Cached pages read from Redis (the memory tier off), spread over this many articles.
const PAGE_REQUESTS = 6000;
const ARTICLES = 300;
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
 * How the Redis work of Flotilla's jobs and cached pages spreads over the masters of a local
 * three-master Redis Cluster, unsharded and with three shards. Jobs: `JOBS` sleep jobs (0 ms,
 * one progress report) submitted over HTTP to a web and drained by a worker, with QUEUE_SHARDS
 * 1 and 3. Pages: `PAGE_REQUESTS` requests for `ARTICLES` cached article pages, the web's memory
 * tier off so that each is read from Redis, with CACHE_SHARDS 1 and 3. Services are started
 * afresh for each. Each master's commands (INFO commandstats, the benchmark's own INFO/CONFIG
 * calls left out) and CPU time (INFO cpu) give its share of the work; their sum per job and per
 * page feeds a capacity model: how much one master's core carries, and how many masters a
 * target rate needs. Counted, not timed: the shares do not depend on how busy the machine is,
 * and the CPU per unit only a little.
 */
export async function runClusterSpread(): Promise<void> {
  console.log(
    `\n## Redis Cluster spread: 3 masters; ${JOBS} jobs over HTTP with QUEUE_SHARDS ${SHARD_COUNTS.join(' and ')}; ${PAGE_REQUESTS} cached pages read from Redis with CACHE_SHARDS ${SHARD_COUNTS.join(' and ')}\n`,
  );
  printEnvironment();
  const cluster = await startRedisCluster({ masters: 3, args: ['--maxmemory-policy', 'noeviction'] });
  const cpuPerJobUs: number[] = [];
  const cpuPerPageUs: number[] = [];
  try {
    for (const shards of SHARD_COUNTS) {
      const loads = await drainOnCluster(cluster, shards);
      cpuPerJobUs.push(
        printLoads(`QUEUE_SHARDS=${shards}: per master, over ${JOBS} jobs submitted and drained`, loads, JOBS, 'job'),
      );
    }
    for (const shards of SHARD_COUNTS) {
      const loads = await pagesOnCluster(cluster, shards);
      cpuPerPageUs.push(
        printLoads(
          `CACHE_SHARDS=${shards}: per master, over ${PAGE_REQUESTS} cached pages read from Redis`,
          loads,
          PAGE_REQUESTS,
          'page',
        ),
      );
    }
  } finally {
    await cluster.stop();
  }
  printCapacityModel(Math.max(...cpuPerJobUs), Math.max(...cpuPerPageUs));
}

/** Prints each master's share of the work; returns the Redis CPU per unit of work, all masters together. */
function printLoads(title: string, loads: readonly MasterLoad[], units: number, unit: string): number {
  const totalCommands = loads.reduce((sum, m) => sum + m.commands, 0);
  const totalCpuMs = loads.reduce((sum, m) => sum + m.cpuMs, 0);
  console.log(`\n${title}\n`);
  console.log(`| master (slots) | commands | share | CPU ms | share | CPU µs/${unit} |`);
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const m of loads)
    console.log(
      `| ${m.slots} | ${m.commands} | ${percent(m.commands / totalCommands)} | ${m.cpuMs.toFixed(0)} | ${percent(m.cpuMs / totalCpuMs)} | ${((m.cpuMs * 1000) / units).toFixed(1)} |`,
    );
  const even = 1 / loads.length;
  const spread = (shares: number[]): string =>
    `${percent(Math.max(...shares.map((share) => Math.abs(share - even) / even)))} off an even third`;
  const cpuPerUnitUs = (totalCpuMs * 1000) / units;
  console.log(
    `\nWidest share: commands ${spread(loads.map((m) => m.commands / totalCommands))}, CPU ${spread(loads.map((m) => m.cpuMs / totalCpuMs))}. Redis CPU per ${unit}, all masters: ${cpuPerUnitUs.toFixed(1)} µs; commands per ${unit}: ${(totalCommands / units).toFixed(1)}.`,
  );
  return cpuPerUnitUs;
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
    return loadsSince(cluster, before, await Promise.all(cluster.masters.map(readMaster)));
  } finally {
    agent.destroy();
    await Promise.all([web.stop(), worker.stop()]);
  }
}

/**
 * Starts a web (and a worker, which refreshes stale fragments) with the memory tier off, so
 * that every cached page is read from Redis; caches `ARTICLES` pages and reads them in turn.
 */
async function pagesOnCluster(cluster: RedisCluster, shards: number): Promise<MasterLoad[]> {
  const env = {
    ...LOAD_TEST_ENV,
    REDIS_URL: cluster.url,
    QUEUE_PREFIX: `{pages-${shards}}`,
    CACHE_PREFIX: `bench-${shards}:`,
    CACHE_SHARDS: String(shards),
    CACHE_L1_MAX_ENTRIES: '0',
    LOG_LEVEL: 'warn',
    WEB_CONCURRENCY: '1',
  };
  const [web, worker] = await Promise.all([spawnWeb(env), spawnWorker(env)]);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const paths: string[] = [];
    for (let i = 0; i < ARTICLES; i++)
      paths.push((await cacheArticlePage(web.url, `Article ${i}`, 'x'.repeat(4000))).path);
    const before = await Promise.all(cluster.masters.map(readMaster));
    await runConcurrently(PAGE_REQUESTS, CONCURRENCY, (i) => cachedPage(agent, web.url + (paths[i % ARTICLES] ?? '/')));
    return loadsSince(cluster, before, await Promise.all(cluster.masters.map(readMaster)));
  } finally {
    agent.destroy();
    await Promise.all([web.stop(), worker.stop()]);
  }
}

function loadsSince(
  cluster: RedisCluster,
  before: readonly { commands: number; cpuSeconds: number }[],
  after: readonly { commands: number; cpuSeconds: number }[],
): MasterLoad[] {
  return cluster.masters.map((master, i) => ({
    slots: master.slots ? `${master.slots[0]}–${master.slots[1]}` : '?',
    commands: (after[i]?.commands ?? 0) - (before[i]?.commands ?? 0),
    cpuMs: ((after[i]?.cpuSeconds ?? 0) - (before[i]?.cpuSeconds ?? 0)) * 1000,
  }));
}

/** GETs a page that must come from the cache. */
async function cachedPage(agent: Agent, url: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () =>
        res.headers['x-cache'] === 'HIT'
          ? resolve()
          : reject(new Error(`${url}: X-Cache ${String(res.headers['x-cache'])}`)),
      );
    })
      .on('error', reject)
      .end();
  });
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

/** Jobs and cached pages per second one master carries, and masters needed for the target rates. */
function printCapacityModel(cpuPerJobUs: number, cpuPerPageUs: number): void {
  const jobsPerMaster = (TARGET_UTILISATION * 1_000_000) / cpuPerJobUs;
  const pagesPerMaster = (TARGET_UTILISATION * 1_000_000) / cpuPerPageUs;
  console.log(
    `\nCapacity model, from the larger Redis CPU per unit above, at ${percent(TARGET_UTILISATION)} of a master's core:`,
  );
  console.log(`- jobs (${cpuPerJobUs.toFixed(1)} µs each): ${Math.floor(jobsPerMaster)} jobs/s per master`);
  for (const rate of TARGET_RATES)
    console.log(`  - ${rate} jobs/s needs ${Math.ceil(rate / jobsPerMaster)} masters, and QUEUE_SHARDS at least that`);
  console.log(
    `- cached pages read from Redis (${cpuPerPageUs.toFixed(1)} µs each; a page served from a web's memory costs Redis nothing): ${Math.floor(pagesPerMaster)} pages/s per master`,
  );
}

function percent(share: number): string {
  return `${(share * 100).toFixed(0)} %`;
}

if (import.meta.main) await runClusterSpread();
