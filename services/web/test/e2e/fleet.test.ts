import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  isolatedServiceEnv,
  spawnWeb,
  spawnWorker,
  waitFor,
  type IsolatedServiceEnv,
  type ServiceHandle,
} from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api } from '../support/api.js';

// Real web and worker processes coordinating through the run's Redis.
const ADMIN = 'ops:correct-horse-battery';
const TIMING = {
  MEMBERSHIP_HEARTBEAT_SECONDS: '0.3',
  MEMBERSHIP_TTL_SECONDS: '1',
  URL_CHECK_INTERVAL_SECONDS: '1',
  URL_CHECK_ALLOW: '127.0.0.0/8',
  ADMIN_BASIC_AUTH: ADMIN,
};
// Changing the URL-check targets needs the admin credentials.
const admin = { authorization: `Basic ${Buffer.from(ADMIN).toString('base64')}` };

interface Member {
  id: string;
  capabilities: Record<string, string>;
}

let target: Server;
let targetUrl: string;
let redis: Redis;
const started: ServiceHandle[] = [];

beforeAll(async () => {
  target = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  redis = new Redis(inject('redisUrl'));
});

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  await redis?.quit();
  await new Promise((resolve) => target?.close(resolve));
});

async function start(
  kind: 'web' | 'worker',
  env: IsolatedServiceEnv,
  extra: Record<string, string | undefined> = {},
): Promise<ServiceHandle> {
  const handle = await (kind === 'web' ? spawnWeb : spawnWorker)({ ...env, ...TIMING, ...extra });
  started.push(handle);
  return handle;
}

async function members(web: ServiceHandle, group: 'web' | 'worker'): Promise<Member[]> {
  const response = await api(web.url, 'GET', '/api/members');
  expect(response.status).toBe(200);
  return (response.body as { groups: Record<string, Member[]> }).groups[group] ?? [];
}

/** Member id of a process, found by its pid in the membership list. */
async function idOf(web: ServiceHandle, worker: ServiceHandle): Promise<string> {
  const found = await waitFor(
    async () => (await members(web, 'worker')).find((m) => m.capabilities['pid'] === String(worker.pid)),
    {
      description: `worker ${worker.pid} in the membership`,
    },
  );
  return (found as Member).id;
}

/**
 * The first round, from `after` on, in which every target was claimed by exactly the members
 * given (each URL is a field of the round's claims hash, so one claim per URL per round).
 */
async function settledRound(
  env: IsolatedServiceEnv,
  targets: readonly string[],
  expected: readonly string[],
  after: number,
): Promise<{ period: number; claims: Record<string, string> }> {
  let period = Math.max(after, Math.floor(Date.now() / 1000) - 2);
  const found = await waitFor(
    async () => {
      const current = Math.floor(Date.now() / 1000) - 1;
      for (; period <= current; period++) {
        const claims = await redis.hgetall(`${env.DATA_PREFIX}{url-checks}:claims:${period}`);
        const owners = new Set(Object.values(claims));
        if (
          targets.every((url) => url in claims) &&
          owners.size === expected.length &&
          expected.every((id) => owners.has(id))
        )
          return { period, claims };
      }
      return undefined;
    },
    { timeoutMs: 20_000, description: `a round checked entirely by ${expected.join(', ')}` },
  );
  return found as { period: number; claims: Record<string, string> };
}

describe('fleet membership and the partitioned URL check', () => {
  it('splits the targets over the live workers, moves only the keys of a killed worker, and gives a newcomer about 1/N', async () => {
    const env = isolatedServiceEnv(inject('redisUrl'));
    const web = await start('web', env);
    const workers = [await start('worker', env), await start('worker', env), await start('worker', env)];
    const targets = Array.from({ length: 60 }, (_, i) => `${targetUrl}/feed/${i}`);
    const added = await api(web.url, 'POST', '/api/url-checks/targets', { json: { urls: targets }, headers: admin });
    expect(added.body).toEqual({ added: 60, targets: 60 });

    await waitFor(async () => (await members(web, 'worker')).length === 3, {
      description: 'three workers in the membership',
    });
    expect((await members(web, 'web')).map((m) => m.capabilities['service'])).toEqual(['web']);
    const worker = (await members(web, 'worker'))[0];
    expect(Object.keys(worker?.capabilities ?? {}).sort()).toEqual([
      'concurrency',
      'eventLoopDelayMaxMs',
      'eventLoopUtilization',
      'host',
      'pid',
      'queues',
      'service',
      'startedAt',
      'version',
    ]);
    const ids = await Promise.all(workers.map((w) => idOf(web, w)));

    const first = await settledRound(env, targets, ids, 0);
    const shares = ids.map((id) => Object.values(first.claims).filter((owner) => owner === id).length);
    for (const share of shares) expect(share).toBeGreaterThan(5);
    type Listing = { targets: { url: string; latest: { outcome: string } | null }[] };
    await waitFor(
      async () =>
        ((await api(web.url, 'GET', '/api/url-checks')).body as Listing).targets.every(
          (t) => t.latest?.outcome === 'up',
        ),
      {
        description: 'a result for every target',
      },
    );

    // SIGKILL: no leave message; the others notice when the heartbeats stop.
    const [victim, victimId] = [workers[2] as ServiceHandle, ids[2] as string];
    await victim.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(async () => !(await members(web, 'worker')).some((m) => m.id === victimId), {
      timeoutMs: 10_000,
      description: 'the killed worker to drop out',
    });
    // Bound: the 1 s ttl plus a heartbeat, with slack for a busy machine.
    expect(Date.now() - killedAt).toBeLessThan(5000);
    const afterKill = await settledRound(env, targets, ids.slice(0, 2), first.period + 1);
    for (const url of targets) {
      if (first.claims[url] === victimId) expect(ids.slice(0, 2)).toContain(afterKill.claims[url]);
      else expect(afterKill.claims[url]).toBe(first.claims[url]);
    }

    const newcomer = await start('worker', env);
    const newId = await idOf(web, newcomer);
    const afterJoin = await settledRound(
      env,
      targets,
      [ids[0] as string, ids[1] as string, newId],
      afterKill.period + 1,
    );
    const moved = targets.filter((url) => afterJoin.claims[url] !== afterKill.claims[url]);
    for (const url of moved) expect(afterJoin.claims[url]).toBe(newId);
    expect(moved.length).toBeGreaterThan(60 * 0.15);
    expect(moved.length).toBeLessThan(60 * 0.55);
  }, 90_000);

  it('refuses bad target lists with problem JSON and changes nothing', async () => {
    const env = isolatedServiceEnv(inject('redisUrl'));
    const web = await start('web', env);
    const good = `${targetUrl}/ok`;
    expect(
      (await api(web.url, 'POST', '/api/url-checks/targets', { json: { urls: [good] }, headers: admin })).status,
    ).toBe(200);
    for (const [body, pointer] of [
      [{ urls: [good, 'ftp://example.com/'] }, '#/urls/1'],
      [{ urls: ['https://user:pw@example.com/'] }, '#/urls/0'],
      [{ urls: [] }, '#/urls'],
      [{ urls: good }, '#/urls'],
      [{ urls: [good], extra: 1 }, '#/'],
      // Targets the workers' checker refuses outright are refused now, not at every round.
      [{ urls: [good, 'http://169.254.169.254/latest/meta-data/'] }, '#/urls/1'],
      [{ urls: ['http://10.0.0.1:6379/'] }, '#/urls/0'],
    ] as const) {
      const response = await api(web.url, 'POST', '/api/url-checks/targets', { json: body, headers: admin });
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect((response.body as { errors: { pointer: string }[] }).errors.map((e) => e.pointer)).toContain(pointer);
    }
    expect(
      (
        await api(web.url, 'POST', '/api/url-checks/targets', {
          body: 'urls=x',
          headers: { ...admin, 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(415);
    // Without the admin credentials, or sent by another site's page, nothing changes.
    expect((await api(web.url, 'DELETE', '/api/url-checks/targets', { json: { urls: [good] } })).status).toBe(401);
    expect(
      (await api(web.url, 'POST', '/api/url-checks/targets', { json: { urls: [`${targetUrl}/more`] } })).status,
    ).toBe(401);
    const forged = await api(web.url, 'DELETE', '/api/url-checks/targets', {
      json: { urls: [good] },
      headers: { ...admin, 'sec-fetch-site': 'cross-site' },
    });
    expect(forged.status).toBe(403);
    const listed = (await api(web.url, 'GET', '/api/url-checks')).body as { targets: { url: string }[] };
    expect(listed.targets.map((t) => t.url)).toEqual([good]);
    expect(
      (await api(web.url, 'DELETE', '/api/url-checks/targets', { json: { urls: [good] }, headers: admin })).body,
    ).toEqual({ removed: 1 });
  });

  it('shows members and targets only to holders of the metrics credentials, when those are set, and has no target writes without a dashboard', async () => {
    const token = 'metrics-token-of-this-test-0123456789';
    // And no admin credentials: the dashboard is off.
    const web = await start('web', isolatedServiceEnv(inject('redisUrl')), {
      METRICS_BEARER_TOKEN: token,
      ADMIN_BASIC_AUTH: undefined,
    });
    for (const path of ['/api/members', '/api/url-checks']) {
      expect((await api(web.url, 'GET', path)).status, path).toBe(401);
      expect((await api(web.url, 'GET', path, { headers: { authorization: `Bearer ${token}` } })).status, path).toBe(
        200,
      );
    }
    // No admin credentials configured: the dashboard is off, and so are target writes.
    expect((await api(web.url, 'POST', '/api/url-checks/targets', { json: { urls: [`${targetUrl}/x`] } })).status).toBe(
      404,
    );
  });
});

describe('singleton schedule', () => {
  it('five workers registering the same schedule run its job once per period', async () => {
    const env = isolatedServiceEnv(inject('redisUrl'));
    // The first worker up starts the schedule while the others are still starting (seconds on a
    // loaded machine): the most runs there can be count from before the first start, the fewest
    // from when all five are up.
    const starting = Date.now();
    const workers = await Promise.all(
      Array.from({ length: 5 }, () => start('worker', env, { WORKER_QUEUES: 'background' })),
    );
    const allUp = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const queue = new Queue('background', { connection: redis, prefix: env.QUEUE_PREFIX });
    const runs = (await queue.getJobs(['completed', 'failed', 'active'])).filter(
      (job) => job.name === 'url-check-report',
    );
    const now = Date.now();
    await queue.close();
    await Promise.all(workers.map((w) => w.stop()));
    // One job per period: about as many runs as seconds, never five per second.
    expect(runs.length).toBeGreaterThanOrEqual(Math.floor((now - allUp) / 1000) - 2);
    expect(runs.length).toBeLessThanOrEqual(Math.ceil((now - starting) / 1000) + 1);
    const periods = runs
      .map((job) => (job.returnvalue as { period: number } | undefined)?.period)
      .filter((p) => p !== undefined);
    expect(new Set(periods).size).toBe(periods.length);
  }, 60_000);
});

describe('rate-limited queue', () => {
  it('starts at most 10 check-url jobs per second across two workers', async () => {
    const env = isolatedServiceEnv(inject('redisUrl'));
    const web = await start('web', env);
    await Promise.all([
      start('worker', env, { WORKER_QUEUES: 'outbound' }),
      start('worker', env, { WORKER_QUEUES: 'outbound' }),
    ]);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const response = await api(web.url, 'POST', '/api/jobs/check-url', {
        json: { url: `${targetUrl}/limited/${i}` },
      });
      expect(response.status).toBe(202);
      ids.push((response.body as { id: string }).id);
    }
    const queue = new Queue('outbound', { connection: redis, prefix: env.QUEUE_PREFIX });
    await waitFor(async () => (await queue.getJobCounts('completed'))['completed'] === 40, {
      timeoutMs: 30_000,
      description: '40 completed checks',
    });
    const jobs = await Promise.all(ids.map((id) => queue.getJob(id)));
    await queue.close();
    const startedAt = jobs.map((job) => job?.processedOn ?? 0).sort((a, b) => a - b);
    expect(jobs.every((job) => (job?.returnvalue as { outcome?: string } | undefined)?.outcome === 'up')).toBe(true);
    expect(new Set(jobs.map((job) => job?.processedBy)).size).toBe(2);
    // BullMQ's limiter counts starts in windows that open with the first start after the last
    // window closed. processedOn is read off the worker's clock before its move-to-active script
    // reaches Redis, a busy moment earlier than the limiter counts the start: the windows checked
    // here are shorter by that much, so a start counted in the next window is not put in this one.
    const skewMs = 200;
    for (let i = 0; i < startedAt.length;) {
      const windowEnd = (startedAt[i] ?? 0) + 1000 - skewMs;
      let j = i;
      while (j < startedAt.length && (startedAt[j] ?? 0) < windowEnd) j++;
      expect(j - i).toBeLessThanOrEqual(10);
      i = j;
    }
    expect((startedAt.at(-1) ?? 0) - (startedAt[0] ?? 0)).toBeGreaterThanOrEqual(3000);
  }, 60_000);
});
