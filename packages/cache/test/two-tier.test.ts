import { waitFor } from '@flotilla/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { CacheCodec } from '../src/index.js';
import { Harness } from './harness.js';

let harness = new Harness();
afterEach(async () => {
  await harness.closeAll();
  harness = new Harness();
});

describe('two tiers', () => {
  it('serves a written value from L1, and from Redis in another instance, which then fills its own L1', async () => {
    const a = await harness.instance();
    const b = await harness.instance();
    await a.cache.set('home', { title: 'Flotilla', n: 1 });

    expect(a.cache.peek('home')).toMatchObject({ value: { title: 'Flotilla', n: 1 }, freshness: 'fresh', tier: 'l1' });
    expect(b.cache.peek('home')).toBeUndefined();
    const fromRedis = await b.cache.get('home');
    expect(fromRedis).toMatchObject({ value: { title: 'Flotilla', n: 1 }, freshness: 'fresh', tier: 'l2' });
    expect(fromRedis!.expiresAt - fromRedis!.storedAt).toBe(60_000);
    expect(b.cache.peek('home')).toMatchObject({ value: { title: 'Flotilla', n: 1 }, tier: 'l1' });
    expect(await b.cache.get('home')).toMatchObject({ tier: 'l1' });

    expect(b.cache.stats()).toMatchObject({ hits: 3, l1Hits: 2, l2Hits: 1, misses: 0, staleHits: 0 });
    expect(a.cache.stats()).toMatchObject({ sets: 1, hits: 1, l1Entries: 1 });
  });

  it('keeps a value as ONE Redis string that lives for ttl + stale', async () => {
    const a = await harness.instance();
    await a.cache.set('page', 'body', { ttlMs: 60_000, staleMs: 30_000, tags: ['article:1'] });

    const keys = await a.redis.keys(`${harness.prefix}{${harness.name}}:k:*`);
    expect(keys).toEqual([harness.entryKey('page')]);
    expect(await a.redis.type(harness.entryKey('page'))).toBe('string');
    const ttl = await a.redis.pttl(harness.entryKey('page'));
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(90_000);
  });

  it('serves an entry as stale after its ttl and drops it after ttl + stale, in both tiers', async () => {
    const a = await harness.instance();
    const b = await harness.instance();
    await a.cache.set('stale', 'v', { ttlMs: 1, staleMs: 60_000 });
    await a.cache.set('gone', 'v', { ttlMs: 1, staleMs: 1 });

    await waitFor(() => a.cache.peek('stale')?.freshness === 'stale');
    expect(await b.cache.get('stale')).toMatchObject({ value: 'v', freshness: 'stale', tier: 'l2' });
    expect(b.cache.peek('stale')).toMatchObject({ value: 'v', freshness: 'stale', tier: 'l1' });
    expect(b.cache.stats().staleHits).toBe(2);

    await waitFor(async () => (await b.cache.get('gone')) === undefined);
    expect(a.cache.peek('gone')).toBeUndefined();
    expect(await a.cache.get('gone')).toBeUndefined();
  });

  it('bounds L1 by entry count: the least recently used entries leave L1 but stay in Redis', async () => {
    const a = await harness.instance({ l1: { maxEntries: 3, maxBytes: 1_000_000 } });
    for (const key of ['k0', 'k1', 'k2', 'k3', 'k4']) await a.cache.set(key, key);

    expect(a.cache.stats().l1Entries).toBe(3);
    expect(a.cache.peek('k0')).toBeUndefined();
    expect(a.cache.peek('k4')).toMatchObject({ value: 'k4', tier: 'l1' });
    expect(await a.cache.get('k0')).toMatchObject({ value: 'k0', tier: 'l2' });
  });

  it('bounds L1 by bytes, measured by the encoded length or the codec sizeOf', async () => {
    const a = await harness.instance({ l1: { maxEntries: 100, maxBytes: 1000 } });
    await a.cache.set('big', 'x'.repeat(2000));
    expect(a.cache.peek('big')).toBeUndefined();
    expect(await a.cache.get('big')).toMatchObject({ tier: 'l2' });
    expect(a.cache.peek('big')).toBeUndefined();
    for (let i = 0; i < 20; i++) await a.cache.set(`small${i}`, 'y'.repeat(100));
    expect(a.cache.stats().l1Bytes).toBeLessThanOrEqual(1000);
    expect(a.cache.stats().l1Entries).toBeGreaterThan(0);

    const heavy: CacheCodec<string> = {
      encode: (value) => value,
      decode: (raw) => raw.toString(),
      sizeOf: () => 600,
    };
    const b = await harness.instance<string>({ name: 'heavy', codec: heavy, l1: { maxEntries: 100, maxBytes: 1000 } });
    await b.cache.set('one', 'a');
    await b.cache.set('two', 'b');
    expect(b.cache.stats().l1Entries).toBe(1);
    expect(b.cache.peek('two')).toMatchObject({ value: 'b' });
  });

  it('stores binary values through a custom codec', async () => {
    const bytes: CacheCodec<Buffer> = { encode: (value) => value, decode: (raw) => Buffer.from(raw) };
    const a = await harness.instance<Buffer>({ codec: bytes });
    const b = await harness.instance<Buffer>({ codec: bytes });
    const value = Buffer.from([0, 1, 0x2c, 0x3a, 0xff, 0xfe, 10, 13]);
    await a.cache.set('bin', value, { tags: ['t'] });
    const hit = await b.cache.get('bin');
    expect(hit?.value.equals(value)).toBe(true);
  });

  it('accepts tags containing any characters', async () => {
    const a = await harness.instance();
    const b = await harness.instance();
    await a.cache.set('k', 1, { tags: ['a,b:c', 'ü{x}', '12:ab,'] });
    expect(await b.cache.get('k')).toMatchObject({ value: 1 });
    await a.cache.invalidateTags(['ü{x}']);
    expect(await b.cache.get('k')).toBeUndefined();
  });

  it('works without L1 when it is disabled', async () => {
    const a = await harness.instance({ l1: false });
    await a.cache.set('k', 'v');
    expect(a.cache.peek('k')).toBeUndefined();
    expect(await a.cache.get('k')).toMatchObject({ value: 'v', tier: 'l2' });
    expect(a.cache.l1Active).toBe(false);
  });

  it('returns undefined for a missing key and counts the miss', async () => {
    const a = await harness.instance();
    expect(a.cache.peek('nope')).toBeUndefined();
    expect(await a.cache.get('nope')).toBeUndefined();
    expect(a.cache.stats()).toMatchObject({ misses: 1, hits: 0 });
  });
});
