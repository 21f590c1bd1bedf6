import { describe, expect, it } from 'vitest';
import { L1Tier } from '../src/l1-tier.js';

const entry = (value: string, now = Date.now()) => ({
  value,
  storedAt: now,
  expiresAt: now + 60_000,
  staleUntil: now + 120_000,
});

function activeTier(): L1Tier<string> {
  const tier = new L1Tier<string>({ maxEntries: 100, maxBytes: 100_000 });
  tier.setActive(true);
  return tier;
}

// The guard that keeps a Redis read which raced an invalidation out of L1.
describe('L1 tier fill guard', () => {
  it('refuses a fill for a key dropped after the read started, and accepts other keys', () => {
    const tier = activeTier();
    const started = tier.version;
    tier.deleteKeys(['a']);
    tier.fill('a', entry('old'), [], 10, started);
    tier.fill('b', entry('ok'), [], 10, started);
    expect(tier.lookup('a', Date.now())).toBeUndefined();
    expect(tier.lookup('b', Date.now())?.value).toBe('ok');
  });

  it('refuses a fill whose entry carries a tag invalidated after the read started', () => {
    const tier = activeTier();
    const started = tier.version;
    tier.deleteTags(['red']);
    tier.fill('a', entry('old'), ['blue', 'red'], 10, started);
    tier.fill('b', entry('ok'), ['blue'], 10, started);
    expect(tier.lookup('a', Date.now())).toBeUndefined();
    expect(tier.lookup('b', Date.now())?.value).toBe('ok');
  });

  it('refuses every fill started before a clear or a reactivation', () => {
    const tier = activeTier();
    const started = tier.version;
    tier.setActive(false);
    tier.setActive(true);
    tier.fill('a', entry('old'), [], 10, started);
    expect(tier.lookup('a', Date.now())).toBeUndefined();
    tier.fill('a', entry('new'), [], 10, tier.version);
    expect(tier.lookup('a', Date.now())?.value).toBe('new');
  });

  it('drops by tag exactly the entries carrying it, also after an entry was replaced', () => {
    const tier = activeTier();
    tier.fill('a', entry('1'), ['red'], 10, tier.version);
    tier.fill('a', entry('2'), ['blue'], 10, tier.version);
    tier.fill('b', entry('3'), ['red'], 10, tier.version);
    tier.deleteTags(['red']);
    expect(tier.lookup('a', Date.now())?.value).toBe('2');
    expect(tier.lookup('b', Date.now())).toBeUndefined();
    tier.deleteTags(['blue']);
    expect(tier.entries).toBe(0);
  });

  it('answers fresh, then stale, then nothing, with the same objects each time', () => {
    const tier = activeTier();
    const now = Date.now();
    tier.fill('a', entry('v', now), [], 10, tier.version);
    const fresh = tier.lookup('a', now);
    expect(fresh).toMatchObject({ freshness: 'fresh', tier: 'l1' });
    expect(tier.lookup('a', now + 1)).toBe(fresh);
    expect(tier.lookup('a', now + 60_000)).toMatchObject({ freshness: 'stale' });
    expect(tier.lookup('a', now + 120_000)).toBeUndefined();
    expect(tier.entries).toBe(0);
  });
});
