import { setTimeout as sleep } from 'node:timers/promises';
import { startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { createRedis, waitForReady, type RedisClient } from '@flotilla/redis';
import { isolatedServiceEnv, spawnWeb, spawnWorker, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notCompleted } from '../support/job-states.js';

// Redis full: maxmemory reached under noeviction. Pass criteria: submissions are refused with a
// prompt 503 problem (Retry-After) and nothing half-enqueued; the workers keep draining the jobs
// already queued; once memory is freed submissions succeed again, with no process restarted.
// The web stops taking jobs at SUBMISSION_MEMORY_LIMIT_PERCENT (90) of maxmemory, because at
// the hard limit Redis also refuses the writes a worker needs to record a finished job.
// Below the web's 5 s Redis command timeout: a 503 this fast comes from failing fast, not
// from waiting out a timeout. Generous, because the machine may be busy.
const ANSWER_BOUND_MS = 4000;
const BALLAST_KEY = 'fault-test:ballast';
const BALLAST_VALUES = 8;

let redis: RedisServer;
let admin: RedisClient;
let web: ServiceHandle;
let worker: ServiceHandle;

beforeAll(async () => {
  redis = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction'] });
  admin = createRedis({ url: redis.url, role: 'consumer' });
  await waitForReady(admin, 5000);
  const env = isolatedServiceEnv(redis.url);
  [web, worker] = await Promise.all([spawnWeb(env), spawnWorker(env)]);
});

afterAll(async () => {
  await Promise.all([web?.stop(), worker?.stop()]);
  admin?.disconnect();
  await redis?.stop();
});

async function submit(base: string, input: unknown): Promise<Response> {
  return await fetch(`${base}/api/jobs/sleep`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
    signal: AbortSignal.timeout(15_000),
  });
}

async function usedMemory(): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await admin.info('memory'))?.[1]);
}

async function jobKeyCount(): Promise<number> {
  return (await admin.keys('*:default:*')).filter((key) => /:default:default\.[^:]+$/.test(key)).length;
}

async function fill(ratio: number): Promise<void> {
  // Small values: a large one would also sit in the connection's query buffer for a while and
  // inflate used_memory.
  for (let i = 0; i < BALLAST_VALUES; i++) await admin.set(`${BALLAST_KEY}:${i}`, 'x'.repeat(1024 * 1024));
  // Buffers of the requests just served are released over the next second or so.
  await sleep(2000);
  await admin.config('SET', 'maxmemory', String(Math.round((await usedMemory()) / ratio)));
}

async function dropBallast(): Promise<void> {
  await admin.del(...Array.from({ length: BALLAST_VALUES }, (_, i) => `${BALLAST_KEY}:${i}`));
}

async function unfill(): Promise<void> {
  await dropBallast();
  await admin.config('SET', 'maxmemory', '0');
}

async function expectRefusedPromptly(base: string): Promise<void> {
  const started = Date.now();
  const refused = await submit(base, { ms: 1, steps: 1 });
  expect(Date.now() - started).toBeLessThan(ANSWER_BOUND_MS);
  expect(refused.status).toBe(503);
  expect(refused.headers.get('content-type')).toContain('application/problem+json');
  expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(await refused.json()).toMatchObject({ type: 'urn:flotilla:problem:service-unavailable', status: 503 });
}

async function acceptedAgain(base: string): Promise<string> {
  // waitFor resolves only with a truthy value: an id.
  return (await waitFor(
    async () => {
      const response = await submit(base, { ms: 1, steps: 1 });
      return response.status === 202 ? ((await response.json()) as { id: string }).id : undefined;
    },
    { timeoutMs: 10_000, description: 'a 202 after memory was freed' },
  )) as string;
}

async function running(service: ServiceHandle): Promise<boolean> {
  return await Promise.race([service.exited.then(() => false), sleep(0, true)]);
}

describe('Redis full (maxmemory with noeviction)', () => {
  it('near the limit: submissions get a prompt 503, the worker drains the queue, and submissions resume once memory is freed', async () => {
    // A backlog of about 10 s for the worker (20 at a time), queued before Redis fills up.
    const backlog: string[] = [];
    for (let i = 0; i < 200; i++) {
      const response = await submit(web.url, { ms: 1000, steps: 1 });
      expect(response.status).toBe(202);
      backlog.push(((await response.json()) as { id: string }).id);
    }
    await fill(0.95);
    // The web reads Redis's memory figures once a second.
    await waitFor(async () => (await submit(web.url, { ms: 1, steps: 1 })).status === 503, {
      timeoutMs: 5000,
      description: 'a 503',
    });
    const jobsBefore = await jobKeyCount();
    await expectRefusedPromptly(web.url);
    expect(await jobKeyCount()).toBe(jobsBefore);

    await waitFor(async () => (await notCompleted(web.url, backlog)).size === 0, {
      timeoutMs: 30_000,
      intervalMs: 500,
      description: 'backlog drained while Redis is full',
    });
    expect((await submit(web.url, { ms: 1, steps: 1 })).status).toBe(503);

    // Freeing the ballast is enough; the limit stays as it was.
    await dropBallast();
    const accepted = await acceptedAgain(web.url);
    await unfill();
    await waitFor(async () => (await notCompleted(web.url, [accepted])).size === 0, {
      timeoutMs: 10_000,
      description: 'the new job completed',
    });
    expect(web.logs()).not.toMatch(/"level":(50|60)/);
    expect(await running(web)).toBe(true);
    expect(await running(worker)).toBe(true);
  }, 90_000);

  it("at the hard limit (no limit of the web's own): Redis's OOM becomes a prompt 503 and nothing is half-enqueued", async () => {
    const env = isolatedServiceEnv(redis.url);
    const bare = await spawnWeb({ ...env, SUBMISSION_MEMORY_LIMIT_PERCENT: '100' });
    try {
      await fill(1.2);
      const jobsBefore = await jobKeyCount();
      await expectRefusedPromptly(bare.url);
      await sleep(200);
      expect(await jobKeyCount()).toBe(jobsBefore);
      await dropBallast();
      await acceptedAgain(bare.url);
      expect(await running(bare)).toBe(true);
    } finally {
      await unfill();
      await bare.stop();
    }
  }, 60_000);
});
