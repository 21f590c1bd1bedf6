import { describe, expect, it } from 'vitest';
import { newJobId, queueOfJobId } from '../src/index.js';

describe('newJobId', () => {
  it('gives every job of many pool refills an id of its own: the queue, a dot and 128 random bits', () => {
    const ids = Array.from({ length: 10_000 }, () => newJobId('default'));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(/^default\.[A-Za-z0-9_-]{22}$/);
      expect(queueOfJobId(id)).toBe('default');
    }
    // Each character position takes many values: the bits are random, not a counter.
    const firstChars = new Set(ids.map((id) => id.charAt('default.'.length)));
    expect(firstChars.size).toBe(64);
  });
});
