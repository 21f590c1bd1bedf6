import { isDeepStrictEqual } from 'node:util';
import { startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { createRedis, waitForReady, type RedisClient } from '@flotilla/redis';
import { isolatedServiceEnv, spawnWeb, spawnWorker, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics, total } from '../support/prometheus-text.js';

// Redis flushed, or restarted without its data: a PING still answers, so only the Redis epoch
// (a random value every process reads at start) tells. Pass criteria: /readyz of the web and
// the worker turns 503 and stays so, and flotilla_redis_epoch_intact{redis="queue"} drops to 0
// on both (FlotillaRedisDataLost fires on it) — never "healthy but empty". A process started
// afterwards joins the new epoch and is ready.
let redis: RedisServer;
let admin: RedisClient;
const started: ServiceHandle[] = [];

beforeAll(async () => {
  // No persistence: a restart comes back empty.
  redis = await startRedisServer();
  admin = createRedis({ url: redis.url, role: 'consumer' });
  admin.on('error', () => undefined);
  await waitForReady(admin, 5000);
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  admin?.disconnect();
  await redis?.stop();
});

async function startBoth(env: Record<string, string>): Promise<[ServiceHandle, ServiceHandle]> {
  const services = await Promise.all([spawnWeb(env), spawnWorker(env)]);
  started.push(...services);
  return services;
}

async function readiness(service: ServiceHandle): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${service.url}/readyz`, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: await response.json() };
}

async function epochIntact(service: ServiceHandle): Promise<number> {
  const response = await fetch(`${service.url}/metrics`, { signal: AbortSignal.timeout(5000) });
  return total(parseMetrics(await response.text()), 'flotilla_redis_epoch_intact', { redis: 'queue' });
}

async function expectDataLostReported(web: ServiceHandle, worker: ServiceHandle): Promise<void> {
  // Once reconnected: not ready because of the data, not because Redis is unreachable.
  await waitFor(
    async () =>
      (await epochIntact(web)) === 0 &&
      (await epochIntact(worker)) === 0 &&
      isDeepStrictEqual(await readiness(web), {
        status: 503,
        body: { status: 'not ready', draining: false, redis: true, redisData: 'lost' },
      }),
    { timeoutMs: 15_000, description: 'web and worker report the lost epoch' },
  );
  expect((await readiness(worker)).status).toBe(503);
  // Redis answers again and stays up: the processes still do not claim to be healthy.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect((await readiness(web)).status).toBe(503);
  expect((await readiness(worker)).status).toBe(503);
  expect((await fetch(`${web.url}/healthz`)).status).toBe(200);
}

describe('Redis emptied under running services', () => {
  it('FLUSHALL: web and worker turn not ready and report the lost epoch; a process started afterwards is ready', async () => {
    const env = isolatedServiceEnv(redis.url);
    const [web, worker] = await startBoth(env);
    expect(await readiness(web)).toEqual({
      status: 200,
      body: { status: 'ready', draining: false, redis: true, redisData: 'intact' },
    });
    expect(await epochIntact(web)).toBe(1);
    expect(await epochIntact(worker)).toBe(1);

    await admin.flushall();
    await expectDataLostReported(web, worker);

    const [freshWeb, freshWorker] = await startBoth(env);
    expect((await readiness(freshWeb)).status).toBe(200);
    expect((await readiness(freshWorker)).status).toBe(200);
    expect((await readiness(web)).status).toBe(503);
  }, 60_000);

  it('restarted without its data: web and worker turn not ready once they reconnect', async () => {
    const [web, worker] = await startBoth(isolatedServiceEnv(redis.url));
    expect((await readiness(worker)).status).toBe(200);
    await redis.kill('SIGKILL');
    await redis.restart();
    await expectDataLostReported(web, worker);
  }, 60_000);
});
