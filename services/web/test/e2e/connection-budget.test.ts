import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startRedisServer, type RedisServer } from '@flotilla/local-redis';
import {
  CONNECTION_BUDGET,
  connectionsHeld,
  spawnWeb,
  spawnWorker,
  uniqueQueuePrefix,
  waitFor,
  type ServiceHandle,
} from '@flotilla/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../support/api.js';
import { RedisCensus } from '../support/redis-census.js';
import { readSse } from '../support/sse.js';

// The example's worker consumes all 4 queues.
const QUEUES = 4;
const WEB_BUDGET = CONNECTION_BUDGET.web;
const WORKER_BUDGET = CONNECTION_BUDGET.worker(QUEUES);

const ADMIN = 'ops:correct-horse-battery';
const auth = { authorization: `Basic ${Buffer.from(ADMIN).toString('base64')}` };
const TIMING = {
  MEMBERSHIP_HEARTBEAT_SECONDS: '0.3',
  MEMBERSHIP_TTL_SECONDS: '1',
  URL_CHECK_INTERVAL_SECONDS: '1',
  URL_CHECK_ALLOW: '127.0.0.0/8',
};

let target: Server;
let targetUrl: string;
const servers: RedisServer[] = [];
const started: ServiceHandle[] = [];
const censuses: RedisCensus[] = [];

beforeAll(async () => {
  target = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
  await Promise.all(censuses.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  await new Promise((resolve) => target?.close(resolve));
});

async function redisServer(args: readonly string[] = []): Promise<RedisServer> {
  const server = await startRedisServer({ args });
  servers.push(server);
  return server;
}

function census(server: RedisServer): RedisCensus {
  const c = new RedisCensus(server.url);
  censuses.push(c);
  return c;
}

/** The environment of one fleet on its own Redis (or two: queue and cache). */
function fleetEnv(queueUrl: string, cacheUrl = queueUrl): Record<string, string> {
  return {
    ...TIMING,
    QUEUE_REDIS_URL: queueUrl,
    CACHE_REDIS_URL: cacheUrl,
    QUEUE_PREFIX: uniqueQueuePrefix(),
    LOG_LEVEL: 'info',
    ADMIN_BASIC_AUTH: ADMIN,
  };
}

async function start(kind: 'web' | 'worker', env: Record<string, string>): Promise<ServiceHandle> {
  const handle = await (kind === 'web' ? spawnWeb : spawnWorker)(env);
  started.push(handle);
  return handle;
}

async function submit(web: ServiceHandle, type: string, input: unknown): Promise<string> {
  const response = await api(web.url, 'POST', `/api/jobs/${type}`, { json: input });
  expect(response.status, response.text).toBe(202);
  return (response.body as { id: string }).id;
}

/**
 * Every feature that touches Redis, through each web and against each worker: jobs on every
 * queue (a flow among them), a long poll, SSE streams on two queues, the cached site with an
 * invalidation, the dashboard's live view and bull-board, membership, a URL-check round and
 * metrics scraping.
 */
async function exerciseEverything(webs: readonly ServiceHandle[], workers: readonly ServiceHandle[]): Promise<void> {
  const [first] = webs;
  if (!first) throw new Error('no web');
  expect(
    (
      await api(first.url, 'POST', '/api/url-checks/targets', {
        json: { urls: [`${targetUrl}/budget`] },
        headers: auth,
      })
    ).status,
  ).toBe(200);
  await Promise.all(
    webs.map(async (web, i) => {
      const sleep = await submit(web, 'sleep', { ms: 400, steps: 4 });
      const fib = await submit(web, 'fib', { n: 25 });
      const digest = await submit(web, 'digest', { ns: [5, 6, 7] });
      const check = await submit(web, 'check-url', { url: `${targetUrl}/job-${i}` });
      const streams = await Promise.all(
        [sleep, fib].map((id) =>
          readSse(`${web.url}/api/jobs/${id}/events`, { stopWhen: (e) => e.event === 'completed', timeoutMs: 15_000 }),
        ),
      );
      for (const stream of streams) expect(stream.events.at(-1)?.event).toBe('completed');
      for (const id of [digest, check]) {
        const polled = await api(web.url, 'GET', `/api/jobs/${id}?wait=10`);
        expect((polled.body as { state: string }).state, polled.text).toBe('completed');
      }

      // An article per web: another web's comment would invalidate the page between MISS and HIT.
      const page = `/articles/${i + 1}`;
      const before = await api(web.url, 'GET', page);
      expect(before.status).toBe(200);
      expect((await api(web.url, 'GET', page)).headers.get('x-cache')).toBe('HIT');
      const text = `budget comment ${i}`;
      expect((await api(web.url, 'POST', `/api${page}/comments`, { json: { author: 'Tester', text } })).status).toBe(
        201,
      );
      expect((await api(web.url, 'GET', page)).text).toContain(text);

      const live = await readSse(`${web.url}/dashboard/events`, {
        headers: auth,
        stopWhen: () => true,
        timeoutMs: 10_000,
      });
      expect(live.events[0]?.event).toBe('snapshot');
      expect((await api(web.url, 'GET', '/dashboard/jobs/api/queues', { headers: auth })).status).toBe(200);
      const members = (await api(web.url, 'GET', '/api/members')).body as { groups: Record<string, unknown[]> };
      expect(members.groups['worker']).toHaveLength(workers.length);
      expect((await api(web.url, 'GET', '/metrics')).text).toContain('flotilla_redis_connections');
    }),
  );
  for (const worker of workers)
    expect((await api(worker.url, 'GET', '/metrics')).text).toContain('flotilla_redis_connections');
  type Listing = { targets: { url: string; latest: { outcome: string } | null }[] };
  await waitFor(
    async () =>
      ((await api(first.url, 'GET', '/api/url-checks')).body as Listing).targets.every(
        (t) => t.latest?.outcome === 'up',
      ),
    {
      timeoutMs: 15_000,
      description: 'a URL-check round',
    },
  );
}

/** Stops every process (SIGTERM) and checks their Redis servers hold no connection of theirs afterwards. */
async function stopAllAndExpectNoneLeft(...counts: RedisCensus[]): Promise<void> {
  const exits = await Promise.all(started.splice(0).map((s) => s.stop()));
  for (const exit of exits) expect(exit).toEqual({ code: 0, signal: null });
  for (const c of counts) expect(await c.list()).toEqual([]);
}

function expectNoConnectionErrors(...handles: ServiceHandle[]): void {
  for (const handle of handles) {
    const logs = handle.logs();
    expect(logs).not.toMatch(/redis connection error|max number of clients|ERR max/i);
  }
}

describe('the Redis connection budget', () => {
  it('holds for one web and one worker while every feature is in use, and nothing is left after they exit', async () => {
    const redis = await redisServer();
    const count = census(redis);
    count.start();
    const env = fleetEnv(redis.url);
    const [web, worker] = await Promise.all([start('web', env), start('worker', env)]);
    await exerciseEverything([web], [worker]);
    await count.stop();

    expect(count.most(web.pid), count.names(web.pid).join(', ')).toBeLessThanOrEqual(WEB_BUDGET);
    expect(count.most(worker.pid), count.names(worker.pid).join(', ')).toBeLessThanOrEqual(WORKER_BUDGET);
    // Exactly what the descriptor tests size the platforms' Redis plans with.
    expect(count.most(web.pid)).toBe(connectionsHeld({ service: 'web' }).queue);
    expect(count.most(worker.pid)).toBe(connectionsHeld({ service: 'worker', consumedQueues: QUEUES }).queue);
    // Every connection says whose it is.
    expect(count.neverNamed()).toEqual([]);
    expect(count.foreign()).toEqual([]);
    expect(count.names(web.pid)).toEqual([
      `flotilla:web:${web.pid}:command`,
      `flotilla:web:${web.pid}:job-events`,
      `flotilla:web:${web.pid}:subscriber`,
    ]);
    expect(count.names(worker.pid).filter((name) => name.includes(':w:'))).toHaveLength(QUEUES);
    console.log(
      `[figure] Redis connections held at most: web ${count.most(web.pid)} (budget ${WEB_BUDGET}), worker ${count.most(worker.pid)} (budget ${WORKER_BUDGET})`,
    );

    await stopAllAndExpectNoneLeft(count);
  }, 120_000);

  it('holds for each process of a web cluster (WEB_CONCURRENCY=2); the primary holds none', async () => {
    const redis = await redisServer();
    const count = census(redis);
    count.start();
    const env = fleetEnv(redis.url);
    const [web, worker] = await Promise.all([start('web', { ...env, WEB_CONCURRENCY: '2' }), start('worker', env)]);
    await exerciseEverything([web], [worker]);
    await count.stop();

    const webPids = [...(await count.byProcess()).entries()]
      .filter(([, entries]) => entries.some((e) => e.name.startsWith('flotilla:web:')))
      .map(([pid]) => pid);
    expect(webPids).toHaveLength(2);
    expect(webPids).not.toContain(web.pid);
    expect(count.most(web.pid)).toBe(0);
    for (const pid of webPids) expect(count.most(pid), count.names(pid).join(', ')).toBeLessThanOrEqual(WEB_BUDGET);
    await stopAllAndExpectNoneLeft(count);
  }, 120_000);

  it('gives durable submissions a connection of their own, within the budget', async () => {
    const redis = await redisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
    const count = census(redis);
    count.start();
    const env = fleetEnv(redis.url);
    const [web] = await Promise.all([start('web', { ...env, DURABLE_SUBMISSIONS: 'true' }), start('worker', env)]);
    const id = await submit(web, 'sleep', { ms: 50, steps: 1 });
    expect(((await api(web.url, 'GET', `/api/jobs/${id}?wait=10`)).body as { state: string }).state).toBe('completed');
    expect((await api(web.url, 'GET', '/articles/1')).status).toBe(200);
    await count.stop();

    expect(count.most(web.pid), count.names(web.pid).join(', ')).toBe(
      connectionsHeld({ service: 'web', durableSubmissions: true }).queue,
    );
    expect(count.most(web.pid)).toBeLessThanOrEqual(WEB_BUDGET);
    expect(count.names(web.pid)).toContain(`flotilla:web:${web.pid}:durable-writes`);
    await stopAllAndExpectNoneLeft(count);
  }, 60_000);

  it('adds at most one connection per process for a cache on a Redis of its own', async () => {
    const [queueRedis, cacheRedis] = await Promise.all([redisServer(), redisServer()]);
    const [queueCount, cacheCount] = [census(queueRedis), census(cacheRedis)];
    queueCount.start();
    cacheCount.start();
    const env = fleetEnv(queueRedis.url, cacheRedis.url);
    const [web, worker] = await Promise.all([start('web', env), start('worker', env)]);
    await exerciseEverything([web], [worker]);
    await Promise.all([queueCount.stop(), cacheCount.stop()]);

    const total = (pid: number): number => queueCount.most(pid) + cacheCount.most(pid);
    expect({ queue: queueCount.most(web.pid), cache: cacheCount.most(web.pid) }).toEqual(
      connectionsHeld({ service: 'web' }, true),
    );
    expect({ queue: queueCount.most(worker.pid), cache: cacheCount.most(worker.pid) }).toEqual(
      connectionsHeld({ service: 'worker', consumedQueues: QUEUES }, true),
    );
    expect(total(web.pid), [...queueCount.names(web.pid), ...cacheCount.names(web.pid)].join(', ')).toBeLessThanOrEqual(
      WEB_BUDGET + CONNECTION_BUDGET.perExtraServer,
    );
    expect(
      total(worker.pid),
      [...queueCount.names(worker.pid), ...cacheCount.names(worker.pid)].join(', '),
    ).toBeLessThanOrEqual(WORKER_BUDGET + CONNECTION_BUDGET.perExtraServer);
    // The cache server sees only the cache's command and pub/sub connections.
    expect(cacheCount.names(web.pid)).toEqual([
      `flotilla:web:${web.pid}:cache-command`,
      `flotilla:web:${web.pid}:cache-subscriber`,
    ]);
    expect(cacheCount.names(worker.pid)).toEqual([
      `flotilla:worker:${worker.pid}:cache-command`,
      `flotilla:worker:${worker.pid}:cache-subscriber`,
    ]);
    await stopAllAndExpectNoneLeft(queueCount, cacheCount);
  }, 120_000);
});

describe('the smallest managed Redis plans', () => {
  for (const { webs, workers, maxclients } of [
    { webs: 1, workers: 1, maxclients: 20 },
    { webs: 2, workers: 2, maxclients: 40 },
  ]) {
    it(`run ${webs} web + ${workers} worker against maxclients ${maxclients} without a refused connection`, async () => {
      const redis = await redisServer(['--maxclients', String(maxclients)]);
      const env = fleetEnv(redis.url);
      const handles = await Promise.all([
        ...Array.from({ length: webs }, () => start('web', env)),
        ...Array.from({ length: workers }, () => start('worker', env)),
      ]);
      await exerciseEverything(handles.slice(0, webs), handles.slice(webs));

      const admin = new Redis(redis.url);
      try {
        const stats = await admin.info('stats');
        expect(/rejected_connections:(\d+)/.exec(stats)?.[1]).toBe('0');
        const clients = await admin.info('clients');
        console.log(
          `[figure] ${webs} web + ${workers} worker on maxclients ${maxclients}: ${/connected_clients:(\d+)/.exec(clients)?.[1]} clients connected (this one included)`,
        );
      } finally {
        await admin.quit();
      }
      expectNoConnectionErrors(...handles);
    }, 120_000);
  }
});
