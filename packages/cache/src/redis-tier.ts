import type { RedisClient } from '@flotilla/redis';
import type { CacheKeys } from './cache-keys.js';
import { parseEntry, type StoredEntry } from './entry-format.js';
import {
  bumpTagsScript,
  cacheScripts,
  fenceScript,
  readScript,
  removeScript,
  snapshotTagsScript,
  unlockScript,
  writeScript,
} from './redis-scripts.js';

/** One entry to write, already encoded. */
export interface WriteEntry {
  readonly key: string;
  readonly value: Buffer | string;
  readonly storedAt: number;
  readonly freshUntil: number;
  readonly staleUntil: number;
  readonly tags: readonly string[];
  /** Tag generations seen before the value was computed; a changed one skips the write. */
  readonly expected?: readonly string[] | undefined;
  /** From {@link RedisTier.fence} before the value was computed; a later invalidation skips the write. */
  readonly fence?: string | undefined;
}

/** What a write did: how many subscribers its message reached, and which entries it stored. */
export interface WriteOutcome {
  readonly receivers: number;
  readonly written: readonly boolean[];
}

/**
 * The shared tier: entries in Redis with TTL = fresh + stale period, tag generations, the
 * fleet lock and refresh markers. Every operation is one round trip; writes publish their
 * invalidation message from inside the same script, so a write and its announcement are atomic.
 */
export class RedisTier {
  readonly #client: RedisClient;
  readonly #keys: CacheKeys;

  constructor(client: RedisClient, keys: CacheKeys) {
    this.#client = client;
    this.#keys = keys;
  }

  /** Loads the scripts so the first calls need no EVAL fallback; best effort. */
  async preload(): Promise<void> {
    await Promise.all(cacheScripts.map((script) => script.preload(this.#client)));
  }

  /** Reads entries in one round trip; undefined for missing, expired or tag-invalidated ones. */
  async read(keys: readonly string[]): Promise<(StoredEntry | undefined)[]> {
    const reply = (await readScript.run(
      this.#client,
      keys.map((key) => this.#keys.entry(key)),
      [this.#keys.tagBase],
    )) as (Buffer | null)[];
    return reply.map((raw) => (raw ? parseEntry(raw) : undefined));
  }

  /** Writes entries and publishes `message` (unless empty) in one round trip. */
  async write(entries: readonly WriteEntry[], message: string): Promise<WriteOutcome> {
    const keys = entries.map((entry) => this.#keys.entry(entry.key));
    const args: (string | Buffer | number)[] = [this.#keys.tagBase, this.#keys.channel, message, entries.length];
    for (const entry of entries) {
      keys.push(...entry.tags.map((tag) => this.#keys.tag(tag)));
      const px = Math.max(1, Math.ceil(entry.staleUntil - entry.storedAt));
      args.push(px, entry.storedAt, entry.freshUntil, entry.staleUntil, entry.fence ?? '', entry.tags.length);
      entry.tags.forEach((tag, i) => args.push(tag, entry.expected?.[i] ?? ''));
      args.push(entry.value);
    }
    const [receivers, ...written] = (await writeScript.run(this.#client, keys, args)) as number[];
    return { receivers: receivers ?? 0, written: written.map((flag) => flag === 1) };
  }

  /** Deletes entries and publishes `message`; returns how many subscribers received it. */
  async remove(keys: readonly string[], message: string): Promise<number> {
    return (await removeScript.run(
      this.#client,
      keys.map((key) => this.#keys.entry(key)),
      [this.#keys.channel, message],
    )) as number;
  }

  /** Moves tags to their next generation (O(1) per tag) and publishes `message`. */
  async bumpTags(tags: readonly string[], message: string): Promise<number> {
    return (await bumpTagsScript.run(
      this.#client,
      tags.map((tag) => this.#keys.tag(tag)),
      [this.#keys.channel, message, ABSENT_TAG_TTL_MS],
    )) as number;
  }

  /** Redis's clock now, as a write fence. */
  async fence(): Promise<string> {
    return ((await fenceScript.run(this.#client, [this.#keys.channel], [])) as Buffer).toString('latin1');
  }

  /** The current generation of each tag, kept alive for at least `ttlMs`. */
  async snapshotTags(tags: readonly string[], ttlMs: number): Promise<string[]> {
    const reply = (await snapshotTagsScript.run(
      this.#client,
      tags.map((tag) => this.#keys.tag(tag)),
      [Math.max(1, Math.ceil(ttlMs))],
    )) as Buffer[];
    return reply.map((generation) => generation.toString('latin1'));
  }

  /** Takes the fleet lock of a key unless someone holds it. */
  async tryLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.#client.set(this.#keys.lock(key), token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Releases the lock if this token still holds it, publishing `message` when it did. */
  async unlock(key: string, token: string, message: string): Promise<void> {
    await unlockScript.run(this.#client, [this.#keys.lock(key)], [token, this.#keys.channel, message]);
  }

  /** Claims the refresh of one stored version of an entry; true for exactly one caller per window. */
  async claimRefresh(key: string, storedAt: number, windowMs: number): Promise<boolean> {
    return (await this.#client.set(this.#keys.refresh(key, storedAt), '1', 'PX', windowMs, 'NX')) === 'OK';
  }
}

// An invalidated tag nobody has written under yet must outlive any computation fenced before
// the invalidation; an hour is far longer than a page or fragment takes to compute.
const ABSENT_TAG_TTL_MS = 3_600_000;
