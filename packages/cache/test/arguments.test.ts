import { afterEach, describe, expect, it } from 'vitest';
import type { SharedSubscriber } from '@flotilla/redis';
import { Cache, type CacheOptions } from '../src/index.js';
import { Harness } from './harness.js';

let harness = new Harness();
afterEach(async () => {
  await harness.closeAll();
  harness = new Harness();
});

describe('bad arguments', () => {
  it('are refused with a TypeError before anything reaches Redis', async () => {
    const { cache, redis } = await harness.instance();
    // From here any command would fail with "Connection is closed", not with a TypeError.
    redis.disconnect();
    const bad: [string, () => Promise<unknown>][] = [
      ['empty key', () => cache.set('', 1)],
      ['negative ttl', () => cache.set('k', 1, { ttlMs: -5 })],
      ['zero ttl', () => cache.set('k', 1, { ttlMs: 0 })],
      ['NaN stale', () => cache.set('k', 1, { staleMs: Number.NaN })],
      ['tag not a string', () => cache.set('k', 1, { tags: [1 as unknown as string] })],
      ['tags not an array', () => cache.set('k', 1, { tags: 'red' as unknown as string[] })],
      ['undefined value', () => cache.set('k', undefined)],
      ['BigInt value', () => cache.set('k', 10n)],
      ['cyclic value', () => cache.set('k', cyclic())],
      [
        'bad entry in setMany',
        () =>
          cache.setMany([
            { key: 'ok', value: 1 },
            { key: 'bad', value: () => 1 },
          ]),
      ],
      ['empty key in get', () => cache.get('')],
      ['non-string key in getMany', () => cache.getMany(['a', 7 as unknown as string])],
      ['empty key in delete', () => cache.delete(['a', ''])],
      ['tags not an array in invalidateTags', () => cache.invalidateTags('red' as unknown as string[])],
      ['empty key in wrap', () => cache.wrap('', () => Promise.resolve(1))],
      ['compute not a function', () => cache.wrap('k', 'x' as unknown as () => Promise<unknown>)],
      ['negative ttl in wrap', () => cache.wrap('k', () => Promise.resolve(1), { ttlMs: -1 })],
    ];
    for (const [what, call] of bad) {
      await expect(call(), what).rejects.toThrow(TypeError);
    }
    await expect(cache.set('k', 10n)).rejects.toThrow(/cache value for key "k" cannot be encoded/);
    await expect(cache.set('k', 1, { ttlMs: -5 })).rejects.toThrow(
      /ttlMs must be a positive finite number of milliseconds, got -5/,
    );
    expect(() => cache.peek('')).toThrow(TypeError);
  });

  it('are refused by create', async () => {
    const redis = await harness.client();
    const base: CacheOptions = { name: 'n', prefix: 'p:', redis, subscriber: harness.subscriber().shared };
    await expect(Cache.create({ ...base, name: 'a{b}' })).rejects.toThrow(/name must be a non-empty string without/);
    await expect(Cache.create({ ...base, name: '' })).rejects.toThrow(TypeError);
    await expect(Cache.create({ ...base, l1: { maxEntries: 0, maxBytes: 10 } })).rejects.toThrow(
      /l1.maxEntries must be a positive integer/,
    );
    await expect(Cache.create({ ...base, ackTimeoutMs: -1 })).rejects.toThrow(/ackTimeoutMs/);
    await expect(Cache.create({ ...base, subscriber: undefined as unknown as SharedSubscriber })).rejects.toThrow(
      /subscriber must be a SharedSubscriber/,
    );
    // A bare connection is not enough: features of a process share one through SharedSubscriber.
    await expect(Cache.create({ ...base, subscriber: redis as unknown as SharedSubscriber })).rejects.toThrow(
      /subscriber must be a SharedSubscriber/,
    );
  });
});

describe('close', () => {
  it('unsubscribes, leaves the caller’s connections open, and is idempotent', async () => {
    const { cache, redis, subscriber, shared } = await harness.instance();
    await cache.set('k', 1);
    expect(shared.channels()).toHaveLength(2);
    await Promise.all([cache.close(), cache.close()]);
    await cache.close();
    expect(shared.channels()).toEqual([]);
    expect(subscriber.status).toBe('ready');
    expect(redis.status).toBe('ready');
    expect(cache.peek('k')).toBeUndefined();
    expect(cache.l1Active).toBe(false);
    await expect(cache.get('k')).rejects.toThrow(/closed/);
  });
});

function cyclic(): unknown {
  const value: Record<string, unknown> = {};
  value['self'] = value;
  return value;
}
