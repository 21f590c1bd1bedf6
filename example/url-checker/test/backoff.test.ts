import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/index.js';

const policy = { baseMs: 100, maxMs: 1000 };

describe('backoffDelay', () => {
  it('draws uniformly below a ceiling that doubles per retry up to maxMs', () => {
    const almostOne = () => 0.999_999;
    expect([1, 2, 3, 4, 5, 6, 30].map((retry) => backoffDelay(policy, retry, almostOne))).toEqual([
      99, 199, 399, 799, 999, 999, 999,
    ]);
  });

  it('scales the ceiling by the random draw (full jitter), down to zero', () => {
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(200);
    expect(backoffDelay(policy, 3, () => 0.25)).toBe(100);
  });

  it('stays within [0, ceiling) for any draw', () => {
    const draws = Array.from({ length: 101 }, (_, i) => i / 101);
    for (const retry of [1, 2, 3, 4, 5, 10]) {
      const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (retry - 1));
      for (const draw of draws) {
        const delay = backoffDelay(policy, retry, () => draw);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(ceiling);
        expect(Number.isInteger(delay)).toBe(true);
      }
    }
  });
});
