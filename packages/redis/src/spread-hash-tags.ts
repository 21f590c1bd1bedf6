import { createHash } from 'node:crypto';
import keySlot from 'cluster-key-slot';

const SLOTS = 16_384;
// Candidates tried per tag for one whose slot is the target: 16,384 slots, so the target is
// found among the first hundred thousand with a probability of 1 - e^-6.
const TAG_SEARCH_LIMIT = 100_000;

/**
 * `count` Redis Cluster hash tags whose slots lie evenly round the slot space, for spreading
 * one thing (a queue, a cache) over the masters of a cluster. The first is `tag` itself, so a
 * count of 1 changes nothing; the i-th is `${tag}-${k}`, with k chosen so that its slot lies
 * i/count of the way round the slot space from `tag`'s. A cluster whose masters hold equal
 * runs of slots (as `redis-cli --cluster create` makes them) then has each tag on a master of
 * its own when there are as many tags as masters. The choice depends only on `tag` and
 * `count`, so every process computes the same tags. The slot is computed with
 * cluster-key-slot, the package ioredis routes commands with.
 */
export function spreadHashTags(tag: string, count: number): readonly [string, ...string[]] {
  if (!(Number.isInteger(count) && count >= 1))
    throw new TypeError(`hash tag count must be a positive integer, got ${count}`);
  if (tag === '' || /[{}]/.test(tag)) throw new TypeError(`hash tag must be non-empty without { or }, got "${tag}"`);
  const base = keySlot(tag);
  const tags: [string, ...string[]] = [tag];
  for (let index = 1; index < count; index++) {
    tags.push(`${tag}-${suffixFor((base + Math.round((index * SLOTS) / count)) % SLOTS, tag)}`);
  }
  return tags;
}

/** The smallest k ≥ 1 whose tag `{t-k}` hashes to `slot`, or to the nearest slot found. */
function suffixFor(slot: number, tag: string): number {
  let best = 1;
  let bestDistance = SLOTS;
  for (let k = 1; k <= TAG_SEARCH_LIMIT; k++) {
    const found = keySlot(`${tag}-${k}`);
    const distance = Math.min(Math.abs(found - slot), SLOTS - Math.abs(found - slot));
    if (distance === 0) return k;
    if (distance < bestDistance) [best, bestDistance] = [k, distance];
  }
  return best;
}

/**
 * Which of `count` spread tags a key belongs to: a stable hash of the key, the same in every
 * process, so whatever is written under a key (a cache entry, a keyed job) is found again there.
 */
export function spreadIndexOf(key: string, count: number): number {
  return count === 1 ? 0 : createHash('sha256').update(key).digest().readUInt32BE(0) % count;
}
