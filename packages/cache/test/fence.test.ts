import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from './harness.js';

let harness = new Harness();
afterEach(async () => {
  await harness.closeAll();
  harness = new Harness();
});

// A value computed from data read before an invalidation must not be stored after it: the write
// fence is how a page whose tags are known only once rendered avoids outliving a change.
describe('write fence', () => {
  it('skips a write whose tag was invalidated after the fence, everywhere', async () => {
    const [writer, peer] = await Promise.all([harness.instance(), harness.instance()]);
    await writer.cache.set('page', 'v1', { tags: ['article:1'] });
    const fence = await writer.cache.fence();
    // Meanwhile another process changes the article and invalidates its tag...
    await peer.cache.invalidateTags(['article:1']);
    // ...so the page rendered from the old data is not stored, in Redis or in memory.
    await writer.cache.set('page', 'rendered before the change', { tags: ['article:1'], fence });
    expect(writer.cache.peek('page')).toBeUndefined();
    expect(await peer.cache.get('page')).toBeUndefined();
    expect(await writer.cache.get('page')).toBeUndefined();
  });

  it('also catches an invalidation of a tag nobody had written under yet', async () => {
    const [writer, peer] = await Promise.all([harness.instance(), harness.instance()]);
    const fence = await writer.cache.fence();
    await peer.cache.invalidateTags(['article:new']);
    await writer.cache.set('page', 'stale', { tags: ['article:new'], fence });
    expect(await peer.cache.get('page')).toBeUndefined();
  });

  it('stores the write when nothing was invalidated after the fence, also for new tags', async () => {
    const [writer, peer] = await Promise.all([harness.instance(), harness.instance()]);
    await peer.cache.invalidateTags(['article:2']);
    const fence = await writer.cache.fence();
    await writer.cache.setMany([
      { key: 'a', value: 'fresh', options: { tags: ['article:2'], fence } },
      { key: 'b', value: 'fresh too', options: { tags: ['never-seen'], fence } },
    ]);
    expect((await peer.cache.getMany(['a', 'b'])).map((hit) => hit?.value)).toEqual(['fresh', 'fresh too']);
    // The tags still work afterwards.
    await peer.cache.invalidateTags(['never-seen']);
    expect(await writer.cache.get('b')).toBeUndefined();
    expect((await writer.cache.get('a'))?.value).toBe('fresh');
  });

  it('refuses a fence that did not come from fence()', async () => {
    const { cache } = await harness.instance();
    await expect(cache.set('k', 'v', { fence: 'yesterday' })).rejects.toThrow(TypeError);
  });
});
