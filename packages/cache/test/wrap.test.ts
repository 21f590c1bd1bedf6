import { waitFor } from '@flotilla/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { gate, Harness } from './harness.js';

let harness = new Harness();
afterEach(async () => {
  await harness.closeAll();
  harness = new Harness();
});

describe('wrap', () => {
  it('computes once for concurrent misses in one process, then serves the stored value', async () => {
    const a = await harness.instance();
    let calls = 0;
    const compute = async (): Promise<string> => {
      calls++;
      await new Promise((resolve) => setImmediate(resolve));
      return 'rendered';
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => a.cache.wrap('page', compute)));
    expect(calls).toBe(1);
    expect(results.every((result) => result.value === 'rendered' && result.freshness === 'computed')).toBe(true);
    expect(await a.cache.wrap('page', compute)).toMatchObject({ value: 'rendered', freshness: 'fresh', tier: 'l1' });
    expect(calls).toBe(1);
  });

  it('with fleetSingleFlight, computes once across instances: the other waits for the value', async () => {
    const a = await harness.instance();
    const b = await harness.instance();
    const release = gate();
    let calls = 0;
    const compute = async (): Promise<string> => {
      calls++;
      await release.promise;
      return 'expensive';
    };
    const both = Promise.all([
      a.cache.wrap('report', compute, { fleetSingleFlight: true }),
      b.cache.wrap('report', compute, { fleetSingleFlight: true }),
    ]);
    await waitFor(() => calls === 1 && a.cache.stats().fleetWaits + b.cache.stats().fleetWaits === 1);
    release.open();
    const results = await both;

    expect(calls).toBe(1);
    expect(results.map((result) => result.freshness).sort()).toEqual(['computed', 'fresh']);
    expect(results.every((result) => result.value === 'expensive')).toBe(true);
    expect(await a.redis.exists(`${harness.prefix}{${harness.name}}:l:report`)).toBe(0);
  });

  it('without fleetSingleFlight, each instance computes its own miss', async () => {
    const a = await harness.instance();
    const b = await harness.instance();
    const release = gate();
    let calls = 0;
    const compute = async (): Promise<number> => {
      calls++;
      await release.promise;
      return calls;
    };
    const both = Promise.all([a.cache.wrap('k', compute), b.cache.wrap('k', compute)]);
    await waitFor(() => calls === 2);
    release.open();
    await both;
    expect(calls).toBe(2);
  });

  it('returns a stale hit at once and calls onStale exactly once for 100 concurrent stale hits on two instances', async () => {
    const a = await harness.instance();
    const b = await harness.instance();
    await a.cache.set('page', 'old', { ttlMs: 1, staleMs: 60_000 });
    await b.cache.get('page');
    await waitFor(() => a.cache.peek('page')?.freshness === 'stale' && b.cache.peek('page')?.freshness === 'stale');

    let refreshes = 0;
    const onStale = (key: string): void => {
      expect(key).toBe('page');
      refreshes++;
    };
    const compute = (): Promise<string> => Promise.reject(new Error('a stale hit must not compute in the foreground'));
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        (i % 2 ? a : b).cache.wrap('page', compute, { ttlMs: 1, staleMs: 60_000, onStale }),
      ),
    );

    expect(results.every((result) => result.value === 'old' && result.freshness === 'stale')).toBe(true);
    await waitFor(() => refreshes === 1);
    expect(a.cache.stats().refreshes + b.cache.stats().refreshes).toBe(1);
    // A second burst within the refresh window triggers nothing either.
    await Promise.all(Array.from({ length: 10 }, () => b.cache.wrap('page', compute, { onStale })));
    expect(refreshes).toBe(1);
  });

  it('revalidate triggers the same de-duplicated refresh for a stale hit the caller already holds', async () => {
    const a = await harness.instance();
    await a.cache.set('page', 'old', { ttlMs: 1, staleMs: 60_000 });
    await waitFor(() => a.cache.peek('page')?.freshness === 'stale');
    let refreshes = 0;
    const compute = (): Promise<string> => Promise.reject(new Error('not called with onStale'));
    await a.cache.set('other', 'x');
    a.cache.revalidate('other', a.cache.peek('other')!, compute, { onStale: () => void refreshes++ });
    for (let i = 0; i < 20; i++) {
      const hit = a.cache.peek('page')!;
      expect(hit.value).toBe('old');
      a.cache.revalidate('page', hit, compute, { onStale: () => void refreshes++ });
    }
    await waitFor(() => refreshes === 1);
    // 20 peeks here and the one that saw the entry turn stale.
    expect(a.cache.stats()).toMatchObject({ refreshes: 1, staleHits: 21 });
  });

  it('without onStale, refreshes a stale entry in the background with compute', async () => {
    const a = await harness.instance();
    await a.cache.set('page', 'old', { ttlMs: 1, staleMs: 60_000 });
    await waitFor(async () => (await a.cache.get('page'))?.freshness === 'stale');
    let calls = 0;
    const compute = (): Promise<string> => {
      calls++;
      return Promise.resolve('new');
    };
    expect(await a.cache.wrap('page', compute, { ttlMs: 60_000 })).toMatchObject({ value: 'old', freshness: 'stale' });
    await waitFor(() => a.cache.peek('page')?.freshness === 'fresh');
    expect(a.cache.peek('page')?.value).toBe('new');
    expect(calls).toBe(1);
  });

  it('treats an entry past ttl + stale as a miss and computes', async () => {
    const a = await harness.instance();
    await a.cache.set('page', 'old', { ttlMs: 1, staleMs: 1 });
    await waitFor(async () => (await a.cache.get('page')) === undefined);
    const result = await a.cache.wrap('page', () => Promise.resolve('new'), { ttlMs: 60_000 });
    expect(result).toMatchObject({ value: 'new', freshness: 'computed', cached: true });
    expect(result.expiresAt - result.storedAt).toBe(60_000);
  });

  it('propagates compute errors to every waiting caller and caches nothing', async () => {
    const a = await harness.instance();
    let calls = 0;
    const failing = async (): Promise<string> => {
      calls++;
      await new Promise((resolve) => setImmediate(resolve));
      throw new Error('database down');
    };
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, () => a.cache.wrap('page', failing, { fleetSingleFlight: true })),
    );
    expect(calls).toBe(1);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ message: 'database down' });
    }
    expect(await a.cache.get('page')).toBeUndefined();
    expect(await a.redis.exists(harness.entryKey('page'), `${harness.prefix}{${harness.name}}:l:page`)).toBe(0);
  });

  it('does not store a value whose tag was invalidated while it was being computed', async () => {
    const a = await harness.instance();
    const release = gate();
    let started = false;
    const pending = a.cache.wrap(
      'page',
      async () => {
        started = true;
        await release.promise;
        return 'built from old data';
      },
      { tags: ['article:1'] },
    );
    await waitFor(() => started);
    await a.cache.invalidateTags(['article:1']);
    release.open();

    expect(await pending).toMatchObject({ value: 'built from old data', freshness: 'computed', cached: false });
    expect(await a.cache.get('page')).toBeUndefined();
    expect(await a.cache.wrap('page', () => Promise.resolve('fresh data'), { tags: ['article:1'] })).toMatchObject({
      cached: true,
    });
    expect((await a.cache.get('page'))?.value).toBe('fresh data');
  });
});
