import keySlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { spreadHashTags } from '../src/index.js';

const SLOTS = 16_384;
// The slot runs `redis-cli --cluster create` gives `masters` masters.
const evenSplit = (masters: number): [number, number][] =>
  Array.from({ length: masters }, (_, i) => [
    Math.floor((i * SLOTS) / masters),
    Math.floor(((i + 1) * SLOTS) / masters) - 1,
  ]);
const masterOf = (slot: number, ranges: readonly [number, number][]): number =>
  ranges.findIndex(([from, to]) => slot >= from && slot <= to);

describe('spreadHashTags', () => {
  it('keeps the tag itself first, so a count of 1 changes nothing', () => {
    expect(spreadHashTags('pages', 1)).toEqual(['pages']);
    expect(spreadHashTags('pages', 3)[0]).toBe('pages');
  });

  it('puts N tags on N different masters of an evenly split cluster, whatever the tag', () => {
    for (const tag of ['pages', 'fragments', 'flotilla', 'x', 'flotilla-test-1']) {
      for (const count of [2, 3, 6]) {
        const tags = spreadHashTags(tag, count);
        expect(tags).toHaveLength(count);
        for (const spread of tags.slice(1)) expect(spread).toMatch(new RegExp(`^${tag}-\\d+$`));
        const masters = tags.map((t) => masterOf(keySlot(`{${t}}:any`), evenSplit(count)));
        expect(new Set(masters).size, `${tag} × ${count}`).toBe(count);
      }
    }
  });

  it('lies i/N of the way round the slot space from the first tag', () => {
    const tags = spreadHashTags('pages', 4);
    const base = keySlot('pages');
    tags.forEach((tag, i) => expect(keySlot(tag)).toBe((base + (i * SLOTS) / 4) % SLOTS));
  });

  it('computes the same tags in every process and refuses what is no tag', () => {
    expect(spreadHashTags('fragments', 5)).toEqual(spreadHashTags('fragments', 5));
    expect(() => spreadHashTags('pages', 0)).toThrow(TypeError);
    expect(() => spreadHashTags('pages', 1.5)).toThrow(TypeError);
    expect(() => spreadHashTags('a{b}', 2)).toThrow(TypeError);
    expect(() => spreadHashTags('', 2)).toThrow(TypeError);
  });
});
