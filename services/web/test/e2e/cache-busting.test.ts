import { isolatedServiceEnv, spawnWeb, type ServiceHandle } from '@flotilla/testkit';
import { describe, expect, it } from 'vitest';
import { api } from '../support/api.js';
import { useOwnRedis } from '../support/own-redis.js';

// A flood of distinct URLs for one cached page (a cache-buster in the query) must neither fill
// Redis nor take the job API down with it. The Redis is the test's own, to read its memory.
const FLOOD = 3000;
const MEMORY_BOUND_BYTES = 1024 * 1024;

const redis = useOwnRedis();

async function usedMemory(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.admin.info('memory'))?.[1]);
}

async function web(extra: Record<string, string> = {}): Promise<ServiceHandle> {
  // Prefixes of its own: the request counts live in the cache Redis too.
  return redis.track(await spawnWeb({ ...isolatedServiceEnv(redis.url), ...extra }));
}

describe('cache-busting URLs', () => {
  it(`${FLOOD} distinct query strings on a cached page leave Redis memory within ${MEMORY_BOUND_BYTES / 1024} KB, and submissions still get 202`, async () => {
    const site = await web();
    expect((await api(site.url, 'GET', '/articles/1')).status).toBe(200);
    const before = await usedMemory();
    const statuses = new Map<number, number>();
    for (let i = 0; i < FLOOD; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, async (_, j) => {
          const n = i + j;
          // One in six with a long query, as the tester's 10 KB entries came from.
          const query = n % 6 === 0 ? `cb=${n}&pad=${'x'.repeat(2000)}` : `cb=${n}`;
          return (await fetch(`${site.url}/articles/1?${query}`)).status;
        }),
      );
      for (const status of batch) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    expect(statuses).toEqual(new Map([[200, FLOOD]]));
    const grown = (await usedMemory()) - before;
    console.log(`[figure] ${FLOOD} cache-busting requests grew Redis memory by ${grown} bytes`);
    expect(grown).toBeLessThan(MEMORY_BOUND_BYTES);
    // Every one of them was the same page: served from the cache.
    expect((await api(site.url, 'GET', '/articles/1?cb=final')).headers.get('x-cache')).toBe('HIT');
    expect((await api(site.url, 'POST', '/api/jobs/sleep', { json: { ms: 1 } })).status).toBe(202);
  }, 120_000);

  it('counts site pages against the client request limit, as the API', async () => {
    // The cache off, so every page reaches the routes; three requests a minute.
    const site = await web({ PAGE_CACHE_TTL_SECONDS: '0', RATE_LIMIT_REQUESTS: '3' });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await api(site.url, 'GET', `/articles/1?cb=${i}`)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});
