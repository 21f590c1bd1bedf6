import { randomBytes } from 'node:crypto';
import { createRedis, waitForReady, type RedisClient } from '@flotilla/redis';
import { createLogger, type Logger } from '@flotilla/telemetry';
import { waitFor } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ApiRateLimiter, type RateLimitOptions } from '../../src/rate-limiter.js';

// The API rate limit of several replicas, each an ApiRateLimiter on its own connection to the
// real Redis: what each admits, what the fleet's counters hold, and what happens without Redis.
let redis: RedisClient;
const clients: RedisClient[] = [];
const limiters: ApiRateLimiter[] = [];
const quiet = createLogger({ service: 'web', level: 'silent' });

beforeAll(() => {
  redis = createRedis({ url: inject('redisUrl'), role: 'producer' });
});

afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
  for (const c of [redis, ...clients]) c.disconnect();
});

interface Replica {
  readonly limiter: ApiRateLimiter;
  readonly client: RedisClient;
}

/** A replica's limiter on a connection of its own, ready first, as the web's is before it serves. */
async function replica(
  options: Partial<Omit<RateLimitOptions, 'redis'>> & { keyPrefix: string; requests: number; redisUrl?: string },
): Promise<Replica> {
  const client = createRedis({ url: options.redisUrl ?? inject('redisUrl'), role: 'producer' });
  client.on('error', () => undefined);
  clients.push(client);
  if (options.redisUrl === undefined) await waitForReady(client, 5000);
  const limiter = new ApiRateLimiter({ windowMs: 60_000, logger: quiet, ...options, redis: client });
  limiters.push(limiter);
  return { limiter, client };
}

/** Resolves once every reply `client` had coming has been handled. */
async function repliesHandled(client: RedisClient): Promise<void> {
  await client.ping();
  await new Promise((resolve) => setImmediate(resolve));
}

const prefix = (): string => `t-${randomBytes(4).toString('hex')}:rate-limit`;

async function consumeMany(limiter: ApiRateLimiter, key: string, times: number): Promise<(number | undefined)[]> {
  const outcomes: (number | undefined)[] = [];
  for (let i = 0; i < times; i++) outcomes.push(await limiter.consume(key));
  return outcomes;
}

async function fleetCount(keyPrefix: string, key: string): Promise<number> {
  return Number((await redis.get(`${keyPrefix}:${key}`)) ?? 0);
}

describe('ApiRateLimiter', () => {
  it("admits the limit, then refuses until the window's end; the count reaches Redis", async () => {
    const keyPrefix = prefix();
    const { limiter } = await replica({ keyPrefix, requests: 5 });
    const outcomes = await consumeMany(limiter, 'client-a', 7);
    expect(outcomes.slice(0, 5)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    for (const waitMs of outcomes.slice(5)) {
      expect(waitMs).toBeGreaterThan(0);
      expect(waitMs).toBeLessThanOrEqual(60_000);
    }
    // Refused requests are not counted; the admitted ones reach Redis within a sync.
    await waitFor(async () => (await fleetCount(keyPrefix, 'client-a')) === 5, {
      description: 'the count of 5 in Redis',
    });
    const ttl = await redis.pttl(`${keyPrefix}:client-a`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await limiter.consume('client-b')).toBeUndefined();
  });

  it('admits exactly the limit in one process, however often it syncs', async () => {
    const keyPrefix = prefix();
    const { limiter } = await replica({ keyPrefix, requests: 30, syncEveryMs: 1 });
    // Requests keep coming while counts are on their way to Redis.
    const outcomes: Promise<number | undefined>[] = [];
    for (const until = Date.now() + 300; Date.now() < until; await new Promise((resolve) => setTimeout(resolve, 1))) {
      for (let i = 0; i < 3; i++) outcomes.push(Promise.resolve(limiter.consume('client')));
    }
    const admitted = (await Promise.all(outcomes)).filter((waitMs) => waitMs === undefined);
    expect(outcomes.length).toBeGreaterThan(30);
    expect(admitted).toHaveLength(30);
  });

  it("holds across replicas: a replica's first request of a client learns the fleet's count", async () => {
    const keyPrefix = prefix();
    const [{ limiter: a, client: aRedis }, { limiter: b }] = await Promise.all([
      replica({ keyPrefix, requests: 5 }),
      replica({ keyPrefix, requests: 5 }),
    ]);
    expect(await consumeMany(a, 'client', 3)).toEqual([undefined, undefined, undefined]);
    // b's first request waits for Redis, which has a's first request counted at least.
    await waitFor(async () => (await fleetCount(keyPrefix, 'client')) === 3, {
      description: "a's three requests in Redis",
    });
    expect(await consumeMany(b, 'client', 3)).toEqual([undefined, undefined, expect.any(Number)]);
    await waitFor(async () => (await fleetCount(keyPrefix, 'client')) === 5, {
      description: "b's two requests in Redis",
    });
    // a has not heard of b's requests since its last sync: it admits one more (the overshoot
    // the limiter allows), learns the fleet's count when it adds that one, and refuses.
    expect(await a.consume('client')).toBeUndefined();
    await waitFor(async () => (await fleetCount(keyPrefix, 'client')) === 6, { description: "a's sync" });
    await repliesHandled(aRedis);
    expect(await a.consume('client')).toEqual(expect.any(Number));
  });

  it('counts in the process while Redis is unreachable, says so once, and adds the counts when it is back', async () => {
    const keyPrefix = prefix();
    const warnings: string[] = [];
    const infos: string[] = [];
    const logger = {
      ...quiet,
      warn: (_: unknown, message: string) => warnings.push(message),
      info: (message: string) => infos.push(message),
    } as unknown as Logger;
    const { limiter } = await replica({ keyPrefix, requests: 3, logger, redisUrl: 'redis://127.0.0.1:1' });
    expect(await consumeMany(limiter, 'client', 5)).toEqual([
      undefined,
      undefined,
      undefined,
      expect.any(Number),
      expect.any(Number),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(warnings).toEqual(['rate limiter cannot reach Redis; counting per process until it is back']);
    expect(infos).toEqual([]);
  });

  it('adds what it still counted to Redis when closed', async () => {
    const keyPrefix = prefix();
    const { limiter } = await replica({ keyPrefix, requests: 100, syncEveryMs: 60_000 });
    await consumeMany(limiter, 'client', 10);
    expect(await fleetCount(keyPrefix, 'client')).toBe(1);
    await limiter.close();
    expect(await fleetCount(keyPrefix, 'client')).toBe(10);
  });

  it('forgets clients whose window has ended, even those that sent one request', async () => {
    const { limiter } = await replica({ keyPrefix: prefix(), requests: 5, windowMs: 1000 });
    for (let i = 0; i < 50; i++) await limiter.consume(`one-off-${i}`);
    expect(limiter.clientsCounted).toBe(50);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await limiter.consume('later');
    await waitFor(() => limiter.clientsCounted === 1, { description: 'only the later client counted' });
  });

  it("starts afresh when the client's window ends", async () => {
    const keyPrefix = prefix();
    const { limiter } = await replica({ keyPrefix, requests: 2, windowMs: 1000 });
    const outcomes = await consumeMany(limiter, 'client', 3);
    expect(outcomes[2]).toBeLessThanOrEqual(1000);
    await new Promise((resolve) => setTimeout(resolve, (outcomes[2] ?? 0) + 10));
    expect(await limiter.consume('client')).toBeUndefined();
  });
});
