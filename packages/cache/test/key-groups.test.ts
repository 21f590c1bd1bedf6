import { spreadHashTags } from '@flotilla/redis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CacheKeys } from '../src/cache-keys.js';
import { Harness, recordCommands } from './harness.js';

let harness = new Harness();
afterEach(async () => {
  await harness.closeAll();
  harness = new Harness();
});

const GROUPS = 3;
const commandNames = (commands: string[][]): string[] => commands.map((args) => (args[0] ?? '').toLowerCase());
// The hash tag of a Redis key, e.g. `pages-1234` of `t-…:{pages-1234}:k:x`.
const tagOf = (redisKey: string): string | undefined => /\{([^}]*)\}/.exec(redisKey)?.[1];

/** `count` keys of each group of a 3-group cache, interleaved: every list below spans all groups. */
function keysPerGroup(keys: CacheKeys, count: number, stem = 'page'): string[] {
  const found: string[][] = keys.groups.map(() => []);
  for (let i = 0; found.some((list) => list.length < count); i++) {
    const key = `${stem}-${i}`;
    const list = found[keys.groupOf(key).index];
    if (list && list.length < count) list.push(key);
  }
  return Array.from({ length: count }, (_, i) => found.map((list) => list[i] ?? '')).flat();
}

describe('key groups', () => {
  it('with one group, names every key exactly as before groups existed', async () => {
    const keys = new CacheKeys('app:', 'pages');
    expect(keys.groups).toHaveLength(1);
    const [group] = keys.groups;
    expect([
      group.entry('/a'),
      group.tag('article:1'),
      group.lock('/a'),
      group.refresh('/a', 5),
      group.anchor,
      keys.channel,
      keys.statsMinute(9),
      keys.ackChannel('i1'),
      CacheKeys.names('app:'),
    ]).toEqual([
      'app:{pages}:k:/a',
      'app:{pages}:t:article:1',
      'app:{pages}:l:/a',
      'app:{pages}:r:5:/a',
      'app:{pages}:inv',
      'app:{pages}:inv',
      'app:{pages}:s:9',
      'app:{pages}:ack:i1',
      'app:flotilla:cache-names',
    ]);

    // And in Redis: an entry, its tag's generation, the statistics of its minute.
    const a = await harness.instance({ groups: 1 });
    await a.cache.set('page', 'v', { tags: ['article:1'] });
    await a.cache.close();
    const stored = (await a.redis.keys(`${harness.prefix}*`)).sort();
    const base = `${harness.prefix}{${harness.name}}:`;
    expect(stored.filter((key) => !key.startsWith(`${base}s:`))).toEqual(
      [`${base}k:page`, `${base}t:article:1`, `${harness.prefix}flotilla:cache-names`].sort(),
    );
    expect(stored.filter((key) => key.startsWith(`${base}s:`)).length).toBeGreaterThan(0);
  });

  it('spreads entries over every group, each group with its own copy of the tag generations', async () => {
    const a = await harness.instance({ groups: GROUPS });
    const layout = new CacheKeys(harness.prefix, harness.name, GROUPS);
    const tags = spreadHashTags(harness.name, GROUPS);
    const keys = Array.from({ length: 60 }, (_, i) => `page-${i}`);
    await a.cache.setMany(keys.map((key) => ({ key, value: key, options: { tags: ['article:7'] } })));

    const stored = await a.redis.keys(`${harness.prefix}{*`);
    const entries = stored.filter((key) => key.includes('}:k:'));
    expect(entries).toHaveLength(60);
    const perGroup = tags.map((tag) => entries.filter((key) => tagOf(key) === tag).length);
    expect(
      perGroup.every((count) => count > 0),
      String(perGroup),
    ).toBe(true);
    expect(perGroup.reduce((x, y) => x + y)).toBe(60);
    // Every entry sits where its key's group says, under the group's spread tag.
    for (const key of keys) expect(entries).toContain(layout.entry(key));
    expect(stored.filter((key) => key.includes('}:t:')).sort()).toEqual(
      tags.map((tag) => `${harness.prefix}{${tag}}:t:article:7`).sort(),
    );
  });

  it('getMany over keys of every group answers hits and misses in order, in ONE pipeline', async () => {
    const writer = await harness.instance({ groups: GROUPS });
    const layout = new CacheKeys(harness.prefix, harness.name, GROUPS);
    const keys = keysPerGroup(layout, 10);
    const stored = keys.filter((_, i) => i % 3 !== 2);
    await writer.cache.setMany(
      stored.map((key, i) => ({ key, value: key.toUpperCase(), options: { tags: i % 2 ? ['odd'] : [] } })),
    );
    const reader = await harness.instance({ groups: GROUPS, statsFlushMs: 600_000 });
    await reader.cache.get(keys[0]!);

    const pipelines = vi.spyOn(reader.redis, 'pipeline');
    let hits: Awaited<ReturnType<typeof reader.cache.getMany>> = [];
    const recorded = await recordCommands(harness, reader.redis, harness.prefix, async () => {
      hits = await reader.cache.getMany([...keys, 'missing']);
    });

    expect(hits.map((hit) => hit?.value)).toEqual([
      ...keys.map((key) => (stored.includes(key) ? key.toUpperCase() : undefined)),
      undefined,
    ]);
    expect(hits[0]?.tier).toBe('l1');
    expect(hits.slice(1).every((hit) => hit === undefined || hit.tier === 'l2')).toBe(true);
    // One read script per group, sent together: one pipeline, one round trip to this Redis.
    expect(commandNames(recorded.commands)).toEqual(['evalsha', 'evalsha', 'evalsha']);
    expect(pipelines).toHaveBeenCalledTimes(1);
    expect(reader.cache.stats()).toMatchObject({ l1Hits: 1, l2Hits: stored.length, misses: 11 });
  });

  it('invalidating a tag drops its entries in every group and in other processes’ L1, with O(1) work per group', async () => {
    const a = await harness.instance({ groups: GROUPS, statsFlushMs: 600_000 });
    const b = await harness.instance({ groups: GROUPS });
    const layout = new CacheKeys(harness.prefix, harness.name, GROUPS);
    const tagged = keysPerGroup(layout, 15, 'article-page');
    const untagged = keysPerGroup(layout, 2, 'other-page');
    await a.cache.setMany([
      ...tagged.map((key) => ({ key, value: key, options: { tags: ['article:7', 'site'] } })),
      ...untagged.map((key) => ({ key, value: key, options: { tags: ['site'] } })),
    ]);
    await b.cache.getMany([...tagged, ...untagged]);
    expect(tagged.every((key) => b.cache.peek(key)?.tier === 'l1')).toBe(true);

    const recorded = await recordCommands(harness, a.redis, harness.prefix, async () => {
      await a.cache.invalidateTags(['article:7']);
    });

    // One script per group; inside each, the tag's generation moves on and the group announces
    // it: no scan, no deletes, whatever the number of entries.
    expect(commandNames(recorded.commands)).toEqual(['evalsha', 'evalsha', 'evalsha']);
    expect(commandNames(recorded.scriptCommands)).toEqual(Array(GROUPS).fill(['get', 'set', 'publish']).flat());
    expect(await a.redis.exists(...tagged.map((key) => layout.entry(key)))).toBe(tagged.length);
    // Resolved: b dropped them all from L1 (each group's message acknowledged), kept the rest.
    for (const key of tagged) expect(b.cache.peek(key)).toBeUndefined();
    for (const key of untagged) expect(b.cache.peek(key)?.value).toBe(key);
    expect(await b.cache.getMany(tagged)).toEqual(tagged.map(() => undefined));
    expect((await b.cache.getMany(untagged)).map((hit) => hit?.value)).toEqual(untagged);
    expect(a.cache.stats().ackTimeouts).toBe(0);

    // A tag shared by entries of every group: the same, from the other instance.
    await b.cache.invalidateTags(['site']);
    for (const key of untagged) expect(a.cache.peek(key)).toBeUndefined();
    expect(await a.cache.getMany(untagged)).toEqual(untagged.map(() => undefined));
  });

  it('deletes and rewrites keys of every group, and other instances drop them from L1', async () => {
    const a = await harness.instance({ groups: GROUPS });
    const b = await harness.instance({ groups: GROUPS });
    const keys = keysPerGroup(new CacheKeys(harness.prefix, harness.name, GROUPS), 2);
    await a.cache.setMany(keys.map((key) => ({ key, value: 1 })));
    await b.cache.getMany(keys);
    await a.cache.setMany(keys.map((key) => ({ key, value: 2 })));
    for (const key of keys) expect(b.cache.peek(key)).toBeUndefined();
    expect((await b.cache.getMany(keys)).map((hit) => hit?.value)).toEqual(keys.map(() => 2));

    await a.cache.delete(keys);
    for (const key of keys) expect(b.cache.peek(key)).toBeUndefined();
    expect(await b.cache.getMany(keys)).toEqual(keys.map(() => undefined));
    expect(a.cache.stats().ackTimeouts + b.cache.stats().ackTimeouts).toBe(0);
  });

  it('fences each entry against its own group: a write fenced before an invalidation is skipped in every group', async () => {
    const [writer, peer] = await Promise.all([
      harness.instance({ groups: GROUPS }),
      harness.instance({ groups: GROUPS }),
    ]);
    const keys = keysPerGroup(new CacheKeys(harness.prefix, harness.name, GROUPS), 2);
    const fence = await writer.cache.fence();
    expect(fence).toMatch(/^\d+,\d+,\d+$/);

    await peer.cache.invalidateTags(['article:1', 'article:new']);
    await writer.cache.setMany(
      keys.map((key, i) => ({
        key,
        value: 'rendered before',
        options: { tags: [i % 2 ? 'article:1' : 'article:new'], fence },
      })),
    );
    for (const key of keys) expect(writer.cache.peek(key)).toBeUndefined();
    expect(await peer.cache.getMany(keys)).toEqual(keys.map(() => undefined));

    const after = await writer.cache.fence();
    await writer.cache.setMany(
      keys.map((key) => ({
        key,
        value: 'rendered after',
        options: { tags: ['article:1', 'never-seen'], fence: after },
      })),
    );
    expect((await peer.cache.getMany(keys)).map((hit) => hit?.value)).toEqual(keys.map(() => 'rendered after'));
    await peer.cache.invalidateTags(['never-seen']);
    expect(await writer.cache.getMany(keys)).toEqual(keys.map(() => undefined));
  });

  it('refuses a fence taken by a cache with another number of groups', async () => {
    const three = await harness.instance({ groups: GROUPS });
    const one = await harness.instance({ groups: 1 });
    await expect(three.cache.set('k', 'v', { fence: await one.cache.fence() })).rejects.toThrow(TypeError);
    await expect(one.cache.set('k', 'v', { fence: await three.cache.fence() })).rejects.toThrow(TypeError);
    await expect(three.cache.set('k', 'v', { fence: '1,2,x' })).rejects.toThrow(/fence/);
  });

  it('wrap keeps its guard in every group: a value computed across an invalidation is not stored', async () => {
    const a = await harness.instance<string>({ groups: GROUPS });
    const keys = keysPerGroup(new CacheKeys(harness.prefix, harness.name, GROUPS), 1);
    for (const key of keys) {
      const result = await a.cache.wrap(
        key,
        async () => {
          await a.cache.invalidateTags(['article:9']);
          return 'computed across a change';
        },
        { tags: ['article:9'], fleetSingleFlight: true },
      );
      expect(result).toMatchObject({ freshness: 'computed', cached: false });
      expect(await a.cache.wrap(key, () => Promise.resolve('v'), { tags: ['article:9'] })).toMatchObject({
        cached: true,
      });
      expect((await a.cache.get(key))?.value).toBe('v');
    }
  });

  it('refuses a group count that is no positive integer, and a prefix with a hash tag of its own', async () => {
    await expect(harness.instance({ groups: 0 })).rejects.toThrow(/groups/);
    await expect(harness.instance({ groups: 1.5 })).rejects.toThrow(/groups/);
    await expect(harness.instance({ groups: 2, prefix: 'app{x}:' })).rejects.toThrow(/prefix/);
  });
});
