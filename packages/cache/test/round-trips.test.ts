import { afterEach, describe, expect, it } from 'vitest';
import { Harness, recordCommands } from './harness.js';

let harness = new Harness();
afterEach(async () => {
  await harness.closeAll();
  harness = new Harness();
});

const commandNames = (commands: string[][]): string[] => commands.map((args) => (args[0] ?? '').toLowerCase());

describe('Redis round trips (counted with MONITOR)', () => {
  it('getMany answers from L1 first and reads all the rest with ONE command', async () => {
    const writer = await harness.instance();
    await writer.cache.setMany([
      { key: 'a', value: 'A' },
      { key: 'b', value: 'B', options: { tags: ['t1', 't2'] } },
      { key: 'c', value: 'C', options: { tags: ['t1'] } },
    ]);
    const reader = await harness.instance({ statsFlushMs: 600_000 });
    expect(await reader.cache.get('a')).toMatchObject({ tier: 'l2' });

    let hits: Awaited<ReturnType<typeof reader.cache.getMany>> = [];
    const recorded = await recordCommands(harness, reader.redis, harness.prefix, async () => {
      hits = await reader.cache.getMany(['a', 'b', 'c', 'missing']);
    });

    expect(commandNames(recorded.commands)).toEqual(['evalsha']);
    expect(hits.map((hit) => hit && [hit.value, hit.tier])).toEqual([['A', 'l1'], ['B', 'l2'], ['C', 'l2'], undefined]);
  });

  it('setMany writes every entry with ONE command', async () => {
    const writer = await harness.instance({ statsFlushMs: 600_000 });
    await writer.cache.set('warm-up', 0);
    const recorded = await recordCommands(harness, writer.redis, harness.prefix, async () => {
      await writer.cache.setMany([
        { key: 'x', value: 1, options: { tags: ['t'] } },
        { key: 'y', value: 2, options: { ttlMs: 5000, staleMs: 5000 } },
        { key: 'z', value: 3, options: { tags: ['t', 'u'] } },
      ]);
    });
    expect(commandNames(recorded.commands)).toEqual(['evalsha']);
    expect((await writer.cache.getMany(['x', 'y', 'z'])).map((hit) => hit?.value)).toEqual([1, 2, 3]);
  });

  it('invalidates a tag with ONE command and O(1) work, whatever the number of entries carrying it', async () => {
    const writer = await harness.instance({ statsFlushMs: 600_000 });
    const keys = Array.from({ length: 50 }, (_, i) => `article-page-${i}`);
    await writer.cache.setMany(keys.map((key) => ({ key, value: key, options: { tags: ['article:7'] } })));

    const recorded = await recordCommands(harness, writer.redis, harness.prefix, async () => {
      await writer.cache.invalidateTags(['article:7']);
    });

    expect(commandNames(recorded.commands)).toEqual(['evalsha']);
    // Inside the script: read the tag's generation, move it on (to Redis's clock, which MONITOR
    // does not list), announce it. No scan, no deletes.
    expect(commandNames(recorded.scriptCommands)).toEqual(['get', 'set', 'publish']);
    expect(await writer.redis.exists(...keys.map((key) => harness.entryKey(key)))).toBe(50);
    expect(await writer.cache.getMany(keys)).toEqual(keys.map(() => undefined));
  });

  it('serves L1 hits without any Redis command, statistics included', async () => {
    const cache = await harness.instance({ statsFlushMs: 600_000 });
    await cache.cache.set('hot', 'v');
    const recorded = await recordCommands(harness, cache.redis, harness.prefix, async () => {
      for (let i = 0; i < 100; i++) {
        cache.cache.peek('hot');
        await cache.cache.get('hot');
      }
    });
    expect(recorded.commands).toEqual([]);
    expect(cache.cache.stats().l1Hits).toBe(200);
  });
});
