import { createHash } from 'node:crypto';
import keySlot from 'cluster-key-slot';

/** One copy of every queue, under a hash tag of its own. */
export interface QueueShard {
  /** 0 for the first shard, whose keys are exactly those of an unsharded Flotilla. */
  readonly index: number;
  /** The BullMQ prefix of the shard's keys, e.g. `{flotilla}` or `{flotilla-5072}`. */
  readonly prefix: string;
  /** What the shard's job ids carry between queue name and token; undefined on shard 0. */
  readonly tag: string | undefined;
}

const SLOTS = 16_384;
// Candidates tried per shard for a tag whose slot is the shard's target: 16,384 slots, so the
// target is found among the first hundred thousand with a probability of 1 - e^-6.
const TAG_SEARCH_LIMIT = 100_000;
const HASH_TAG = /\{([^{}:\s]+)\}/;

/**
 * Where a logical queue's jobs live when it is spread over `count` shards. Shard 0 keeps the
 * configured prefix; shard i swaps its hash tag `{t}` for `{t-k}`, with k chosen so that the
 * tag's cluster slot lies i/count of the way round the slot space from shard 0's. A cluster
 * whose masters hold equal runs of slots (as `redis-cli --cluster create` makes them) then has
 * each shard on a master of its own when there are as many shards as masters. The choice
 * depends only on the prefix and the count, so every process computes the same layout.
 */
export class QueueShards {
  readonly all: readonly [QueueShard, ...QueueShard[]];
  readonly #byTag: ReadonlyMap<string, QueueShard>;
  #next: number;

  constructor(prefix: string, count: number) {
    if (!(Number.isInteger(count) && count >= 1))
      throw new TypeError(`shard count must be a positive integer, got ${count}`);
    const tag = HASH_TAG.exec(prefix)?.[1];
    if (tag === undefined) throw new TypeError(`queue prefix "${prefix}" has no {hash-tag}`);
    const base = keySlot(tag);
    const shards: [QueueShard, ...QueueShard[]] = [{ index: 0, prefix, tag: undefined }];
    for (let index = 1; index < count; index++) {
      const suffix = tagSuffixFor((base + Math.round((index * SLOTS) / count)) % SLOTS, tag);
      shards.push({ index, prefix: prefix.replace(HASH_TAG, `{${tag}-${suffix}}`), tag: String(suffix) });
    }
    this.all = shards;
    this.#byTag = new Map(shards.flatMap((shard) => (shard.tag === undefined ? [] : [[shard.tag, shard]])));
    // Each process starts its round robin somewhere else, so a fleet's first jobs spread too.
    this.#next = Math.floor(Math.random() * count);
  }

  get count(): number {
    return this.all.length;
  }

  /** Something made for each shard, in shard order. */
  map<T>(make: (shard: QueueShard) => T): [T, ...T[]] {
    const [first, ...rest] = this.all;
    return [make(first), ...rest.map(make)];
  }

  /**
   * The shard a new job goes to: always the same one for the same `key` (an idempotency or
   * de-duplication key, whose job must be found again where it was written), the next in turn
   * otherwise.
   */
  pick(key?: string): QueueShard {
    if (this.all.length === 1) return this.all[0];
    if (key !== undefined) return this.at(createHash('sha256').update(key).digest().readUInt32BE(0));
    this.#next = (this.#next + 1) % this.all.length;
    return this.at(this.#next);
  }

  /** The shard a job id's tag names (undefined: shard 0), or undefined for a tag of no shard here. */
  byTag(tag: string | undefined): QueueShard | undefined {
    return tag === undefined ? this.all[0] : this.#byTag.get(tag);
  }

  private at(n: number): QueueShard {
    return this.all[n % this.all.length] ?? this.all[0];
  }
}

/** The smallest k ≥ 1 whose tag `{t-k}` hashes to `slot`, or to the nearest slot found. */
function tagSuffixFor(slot: number, tag: string): number {
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
