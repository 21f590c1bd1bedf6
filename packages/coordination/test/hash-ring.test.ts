import { describe, expect, it } from 'vitest';
import { HashRing } from '../src/index.js';

const KEYS = Array.from({ length: 10_000 }, (_, i) => `https://example.com/feed/${i}`);

function owners(ring: HashRing): Map<string, string | undefined> {
  return new Map(KEYS.map((key) => [key, ring.owner(key)]));
}

function shares(ring: HashRing): Map<string, number> {
  const counts = new Map<string, number>();
  for (const owner of owners(ring).values()) counts.set(owner ?? '', (counts.get(owner ?? '') ?? 0) + 1);
  return counts;
}

describe('HashRing', () => {
  it('has no owner while empty', () => {
    expect(new HashRing().owner('k')).toBeUndefined();
  });

  it.each([3, 4, 5, 8])('splits keys within ±25%% of an even share between %i members', (n) => {
    const ring = new HashRing(Array.from({ length: n }, (_, i) => `worker-${i}`));
    const counts = shares(ring);
    expect(counts.size).toBe(n);
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(0.75 * (KEYS.length / n));
      expect(count).toBeLessThan(1.25 * (KEYS.length / n));
    }
  });

  it('gives a member of weight 2 about twice the keys of one of weight 1', () => {
    const counts = shares(new HashRing([{ id: 'big', weight: 2 }, 'a', 'b']));
    const ratio = (counts.get('big') ?? 0) / (((counts.get('a') ?? 0) + (counts.get('b') ?? 0)) / 2);
    expect(ratio).toBeGreaterThan(1.6);
    expect(ratio).toBeLessThan(2.4);
  });

  it('moves about a quarter of the keys, all to the new member, when a 4th member joins 3', () => {
    const ring = new HashRing(['w1', 'w2', 'w3']);
    const before = owners(ring);
    ring.add('w4');
    const after = owners(ring);
    const moved = KEYS.filter((key) => before.get(key) !== after.get(key));
    expect(moved.length / KEYS.length).toBeGreaterThan(0.15);
    expect(moved.length / KEYS.length).toBeLessThan(0.35);
    for (const key of moved) expect(after.get(key)).toBe('w4');
  });

  it("moves only the leaving member's keys when a member leaves", () => {
    const ring = new HashRing(['w1', 'w2', 'w3', 'w4']);
    const before = owners(ring);
    ring.remove('w2');
    expect(ring.members()).toEqual(['w1', 'w3', 'w4']);
    const after = owners(ring);
    for (const key of KEYS) {
      if (before.get(key) === 'w2') expect(after.get(key)).not.toBe('w2');
      else expect(after.get(key)).toBe(before.get(key));
    }
  });

  it('gives the same owners whatever order the members were added in', () => {
    const a = new HashRing(['x', 'y', { id: 'z', weight: 2 }]);
    const b = new HashRing();
    for (const [id, weight] of [
      ['z', 2],
      ['x', 1],
      ['y', 1],
    ] as const)
      b.add(id, weight);
    expect(b.size).toBe(3);
    expect(owners(b)).toEqual(owners(a));
  });

  it('rejects a weight that is not a positive integer and an id that cannot be a member', () => {
    expect(() => new HashRing([{ id: 'a', weight: 0 }])).toThrow('hash ring weight must be a positive integer');
    expect(() => new HashRing().add('a', 1.5)).toThrow('hash ring weight must be a positive integer');
    expect(() => new HashRing(['']).owner('k')).toThrow('hash ring member id must be');
  });
});
