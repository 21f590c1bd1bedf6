import { spreadHashTags, spreadIndexOf } from '@flotilla/redis';

/** One copy of every queue, under a hash tag of its own. */
export interface QueueShard {
  /** 0 for the first shard, whose keys are exactly those of an unsharded Flotilla. */
  readonly index: number;
  /** The BullMQ prefix of the shard's keys, e.g. `{flotilla}` or `{flotilla-5072}`. */
  readonly prefix: string;
  /** What the shard's job ids carry between queue name and token; undefined on shard 0. */
  readonly tag: string | undefined;
}

const HASH_TAG = /\{([^{}:\s]+)\}/;

/**
 * Where a logical queue's jobs live when it is spread over `count` shards. Shard 0 keeps the
 * configured prefix; shard i swaps its hash tag `{t}` for the i-th of {@link spreadHashTags},
 * `{t-k}`, whose cluster slot lies i/count of the way round the slot space from shard 0's: on
 * an evenly split cluster, as many shards as masters put each shard on a master of its own.
 * The layout depends only on the prefix and the count, so every process computes the same.
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
    const [, ...spread] = spreadHashTags(tag, count);
    const shards: [QueueShard, ...QueueShard[]] = [{ index: 0, prefix, tag: undefined }];
    spread.forEach((shardTag, i) => {
      // The shard's id tag is k of `{t-k}`.
      shards.push({
        index: i + 1,
        prefix: prefix.replace(HASH_TAG, `{${shardTag}}`),
        tag: shardTag.slice(tag.length + 1),
      });
    });
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
    if (key !== undefined) return this.at(spreadIndexOf(key, this.all.length));
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
