import type { CacheCodec } from './codec.js';
import type { CacheStats } from './cache-stats.js';
import type { InvalidationBus } from './invalidation-bus.js';
import type { L1Tier } from './l1-tier.js';
import type { RedisTier, WriteEntry } from './redis-tier.js';
import type { ComputedValue } from './types.js';
import { encodeValue, type ResolvedSetOptions } from './validate.js';

/** What a {@link CacheWriter} works with. */
export interface CacheWriterParts<T> {
  readonly codec: CacheCodec<T>;
  readonly tier: RedisTier;
  readonly l1: L1Tier<T>;
  readonly bus: InvalidationBus;
  readonly stats: CacheStats;
}

/** A value encoded and timed, ready for {@link CacheWriter.write}. */
export interface PreparedWrite {
  readonly entry: WriteEntry;
  readonly encoded: Buffer;
}

/**
 * Every change to a cache, in the same order: drop the keys or tags from this process's L1,
 * change Redis and publish the invalidation in one script per key group touched, then wait for
 * the other instances' acknowledgements of every group's message. Arguments are checked by the
 * caller; encoding happens in {@link prepare}, before anything reaches Redis.
 */
export class CacheWriter<T> {
  readonly #parts: CacheWriterParts<T>;

  constructor(parts: CacheWriterParts<T>) {
    this.#parts = parts;
  }

  /** Encodes a value (a TypeError when the codec cannot) and computes its lifetimes. */
  prepare(key: string, value: T, set: ResolvedSetOptions, expected?: readonly string[]): PreparedWrite {
    const encodedValue = encodeValue(this.#parts.codec, key, value);
    const encoded = typeof encodedValue === 'string' ? Buffer.from(encodedValue) : encodedValue;
    const storedAt = Date.now();
    const freshUntil = storedAt + Math.ceil(set.ttlMs);
    const staleUntil = freshUntil + Math.ceil(set.staleMs);
    return {
      encoded,
      entry: { key, value: encoded, storedAt, freshUntil, staleUntil, tags: set.tags, expected, fence: set.fence },
    };
  }

  /** Writes entries in one round trip; returns which were stored (see {@link WriteEntry.expected}). */
  async write(prepared: readonly PreparedWrite[]): Promise<readonly boolean[]> {
    const { tier, l1, bus, stats } = this.#parts;
    const keys = [...new Set(prepared.map((p) => p.entry.key))];
    l1.deleteKeys(keys);
    const version = l1.version;
    const message = bus.begin(keys, []);
    const outcome = await tier
      .write(
        prepared.map((p) => p.entry),
        message,
      )
      .catch((error: unknown) => this.#abandon(message.id, error));
    let written = 0;
    prepared.forEach((p, i) => {
      if (!outcome.written[i]) return;
      written++;
      if (l1.active) this.#fillOwn(p, version);
    });
    stats.set(written);
    await bus.settle(message.id, outcome.receivers);
    return outcome.written;
  }

  /** Writes a value {@link Cache.wrap} computed, unless a tag moved past `expected`. */
  async store(
    key: string,
    value: T,
    set: ResolvedSetOptions,
    expected: readonly string[] | undefined,
  ): Promise<ComputedValue<T>> {
    const prepared = this.prepare(key, value, set, expected);
    const { storedAt, freshUntil, staleUntil } = prepared.entry;
    const [cached = false] = await this.write([prepared]);
    return { value, freshness: 'computed', storedAt, expiresAt: freshUntil, staleUntil, cached };
  }

  /** Deletes keys everywhere. */
  async remove(keys: readonly string[]): Promise<void> {
    const { tier, l1, bus, stats } = this.#parts;
    l1.deleteKeys(keys);
    const message = bus.begin(keys, []);
    const receivers = await tier.remove(keys, message).catch((error: unknown) => this.#abandon(message.id, error));
    stats.invalidation(keys.length);
    await bus.settle(message.id, receivers);
  }

  /** Moves tags to their next generation everywhere. */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    const { tier, l1, bus, stats } = this.#parts;
    l1.deleteTags(tags);
    const message = bus.begin([], tags);
    const receivers = await tier.bumpTags(tags, message).catch((error: unknown) => this.#abandon(message.id, error));
    stats.invalidation(tags.length);
    await bus.settle(message.id, receivers);
  }

  #abandon(id: string, error: unknown): never {
    this.#parts.bus.abandon(id);
    throw error;
  }

  // L1 keeps the value as a reader would decode it from Redis, not the caller's object, so
  // every process and every later read sees the same thing.
  #fillOwn({ entry, encoded }: PreparedWrite, version: number): void {
    const { codec, l1 } = this.#parts;
    let value: T;
    try {
      value = codec.decode(encoded);
    } catch {
      return;
    }
    const hit = { value, storedAt: entry.storedAt, expiresAt: entry.freshUntil, staleUntil: entry.staleUntil };
    l1.fill(entry.key, hit, entry.tags, codec.sizeOf?.(value) ?? encoded.length, version);
  }
}
