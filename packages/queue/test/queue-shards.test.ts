import keySlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { QueueShards, childJobId, parseJobId } from '../src/index.js';

// The slot runs `redis-cli --cluster create` gives three masters.
const THREE_MASTERS = [
  [0, 5460],
  [5461, 10922],
  [10923, 16383],
] as const;

const slotOf = (prefix: string): number => keySlot(`${prefix}:default:wait`);
const masterOf = (slot: number, ranges: readonly (readonly [number, number])[]): number =>
  ranges.findIndex(([from, to]) => slot >= from && slot <= to);

describe('QueueShards', () => {
  it('one shard is the configured prefix itself, so an unsharded queue keeps its keys and ids', () => {
    const shards = new QueueShards('{flotilla}', 1);
    expect(shards.all).toEqual([{ index: 0, prefix: '{flotilla}', tag: undefined }]);
    expect(shards.pick()).toBe(shards.all[0]);
    expect(shards.pick('some key')).toBe(shards.all[0]);
  });

  it('puts N shards on N different masters of an evenly split cluster, whatever the prefix', () => {
    for (const prefix of ['{flotilla}', '{flotilla-test-1}', 'app{jobs}', '{x}', '{staging}v2']) {
      const shards = new QueueShards(prefix, 3);
      expect(shards.all[0].prefix).toBe(prefix);
      const masters = shards.all.map((shard) => masterOf(slotOf(shard.prefix), THREE_MASTERS));
      expect(new Set(masters).size, prefix).toBe(3);
      // Every key of a shard shares its slot: its hash tag is its whole identity.
      for (const shard of shards.all) expect(slotOf(shard.prefix)).toBe(keySlot(`${shard.prefix}:cpu:meta`));
    }
    const six = new QueueShards('{flotilla}', 6);
    const sixths = Array.from(
      { length: 6 },
      (_, i) => [Math.ceil((i * 16384) / 6), Math.ceil(((i + 1) * 16384) / 6) - 1] as const,
    );
    expect(new Set(six.all.map((shard) => masterOf(slotOf(shard.prefix), sixths))).size).toBe(6);
  });

  it('computes the same layout in every process', () => {
    expect(new QueueShards('{flotilla}', 4).all).toEqual(new QueueShards('{flotilla}', 4).all);
  });

  it('sends a key always to the same shard, and unkeyed jobs to each shard in turn', () => {
    const shards = new QueueShards('{flotilla}', 3);
    const keyed = Array.from({ length: 50 }, (_, i) => `key-${i}`);
    for (const key of keyed) expect(shards.pick(key)).toBe(shards.pick(key));
    expect(new Set(keyed.map((key) => shards.pick(key).index)).size).toBe(3);
    const turns = Array.from({ length: 6 }, () => shards.pick().index);
    expect([...turns.slice(0, 3)].sort()).toEqual([0, 1, 2]);
    expect(turns.slice(3)).toEqual(turns.slice(0, 3));
  });

  it('finds a shard by the tag its job ids carry, and no shard for a tag of another layout', () => {
    const shards = new QueueShards('{flotilla}', 3);
    const [, second] = shards.all;
    expect(shards.byTag(undefined)).toBe(shards.all[0]);
    expect(shards.byTag(second?.tag)).toBe(second);
    expect(shards.byTag('999999')).toBeUndefined();
  });

  it('refuses a prefix without a hash tag and a count below one', () => {
    expect(() => new QueueShards('flotilla', 2)).toThrow(/hash-tag/);
    expect(() => new QueueShards('{flotilla}', 0)).toThrow(/positive integer/);
  });
});

describe('job ids on shards', () => {
  it("name the shard's tag after the queue, and a flow's children carry their parent's", () => {
    expect(parseJobId('default.AAAAAAAAAAAAAAAAAAAAAA')).toEqual({ queue: 'default', shardTag: undefined });
    expect(parseJobId('default.5072.AAAAAAAAAAAAAAAAAAAAAA')).toEqual({ queue: 'default', shardTag: '5072' });
    expect(parseJobId('default.50720001.AAAAAAAAAAAAAAAAAAAAAA')).toBeUndefined();
    expect(parseJobId(childJobId('default.5072.AAAAAAAAAAAAAAAAAAAAAA', 0, 'cpu'))?.shardTag).toBe('5072');
    expect(parseJobId(childJobId('default.AAAAAAAAAAAAAAAAAAAAAA', 0, 'cpu'))?.shardTag).toBeUndefined();
  });
});
