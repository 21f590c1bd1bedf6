import { waitFor } from '@flotilla/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { listCacheNames, readCacheStats, type CacheStatsPoint } from '../src/index.js';
import { Harness } from './harness.js';

let harness = new Harness();
afterEach(async () => {
  await harness.closeAll();
  harness = new Harness();
});

const total = (
  points: readonly CacheStatsPoint[],
  field: 'hits' | 'misses' | 'staleHits' | 'sets' | 'invalidations',
): number => points.reduce((sum, point) => sum + point[field], 0);

describe('fleet statistics', () => {
  it('sums every instance per minute, flushed on close', async () => {
    const a = await harness.instance({ statsFlushMs: 600_000 });
    const b = await harness.instance({ statsFlushMs: 600_000 });
    await a.cache.set('k', 1);
    await a.cache.get('k');
    await b.cache.get('k');
    b.cache.peek('k');
    await b.cache.get('nope');
    await a.cache.delete('k');
    await Promise.all([a.cache.close(), b.cache.close()]);

    const admin = await harness.client();
    // Two minutes, in case the test straddles a minute boundary.
    const points = await readCacheStats(admin, harness.prefix, harness.name, 2);
    expect(points).toHaveLength(2);
    expect(new Date(points[1]!.minute).getTime() - new Date(points[0]!.minute).getTime()).toBe(60_000);
    expect(points[1]!.minute).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/);
    expect({
      hits: total(points, 'hits'),
      misses: total(points, 'misses'),
      sets: total(points, 'sets'),
      invalidations: total(points, 'invalidations'),
    }).toEqual({
      hits: 3,
      misses: 1,
      sets: 1,
      invalidations: 1,
    });
    const busy = points.filter((point) => point.hits + point.misses > 0);
    expect(busy.every((point) => point.hitRatio !== null && point.hitRatio > 0 && point.hitRatio <= 1)).toBe(true);
    expect(points.filter((point) => point.hits + point.misses === 0).every((point) => point.hitRatio === null)).toBe(
      true,
    );
    expect(await listCacheNames(admin, harness.prefix)).toEqual([harness.name]);
  });

  it('flushes every statsFlushMs while running', async () => {
    const a = await harness.instance({ statsFlushMs: 50 });
    await a.cache.set('k', 'v');
    for (let i = 0; i < 10; i++) a.cache.peek('k');
    const admin = await harness.client();
    await waitFor(async () => total(await readCacheStats(admin, harness.prefix, harness.name, 2), 'hits') === 10);
  });

  it('reports zeros for a cache nobody used, and refuses a bad range', async () => {
    const admin = await harness.client();
    const points = await readCacheStats(admin, harness.prefix, 'unused', 3);
    expect(points.map((point) => [point.hits, point.misses, point.hitRatio])).toEqual([
      [0, 0, null],
      [0, 0, null],
      [0, 0, null],
    ]);
    await expect(readCacheStats(admin, harness.prefix, 'unused', 0)).rejects.toThrow(TypeError);
  });

  it('emits events for metrics: hits by tier and freshness, misses, sets, invalidations', async () => {
    const a = await harness.instance();
    const events: string[] = [];
    const stop = a.cache.onEvent((event) => events.push('tier' in event ? `${event.type}:${event.tier}` : event.type));
    await a.cache.set('k', 1);
    a.cache.peek('k');
    await a.cache.get('missing');
    await a.cache.delete('k');
    await a.cache.set('s', 1, { ttlMs: 1, staleMs: 60_000 });
    await waitFor(() => a.cache.peek('s')?.freshness === 'stale');
    stop();
    await a.cache.get('s');
    expect(events.slice(0, 4)).toEqual(['set', 'hit:l1', 'miss', 'invalidation']);
    expect(events.at(-1)).toBe('stale:l1');
    expect(events.filter((e) => e === 'set')).toHaveLength(2);
  });
});
