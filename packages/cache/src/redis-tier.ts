import { runScripts, type RedisClient, type ScriptArgument } from '@flotilla/redis';
import type { CacheKeys } from './cache-keys.js';
import { parseEntry, type StoredEntry } from './entry-format.js';
import type { OutgoingInvalidation } from './invalidation-bus.js';
import type { KeyGroup } from './key-group.js';
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
  /**
   * From {@link RedisTier.fence} before the value was computed (one clock reading per key
   * group, comma-separated); a later invalidation skips the write.
   */
  readonly fence?: string | undefined;
}

/** What a write did: how many subscribers its messages reached, and which entries it stored. */
export interface WriteOutcome {
  readonly receivers: number;
  readonly written: readonly boolean[];
}

/** The message a change publishes, whole or for the keys of one group. */
export type Announcement = Pick<OutgoingInvalidation, 'payload' | 'payloadFor'>;

/** Some of a call's items that live in one key group, and where they stand in the call. */
interface GroupPart<T> {
  readonly group: KeyGroup;
  readonly items: T[];
  readonly indexes: number[];
}

/**
 * The shared tier: entries in Redis with TTL = fresh + stale period, tag generations, the
 * fleet lock and refresh markers. Each key group is self-contained: its scripts check an entry
 * against the group's own copy of its tags' generations, so a script never leaves one slot.
 * An operation runs one script per group it touches, in one pipeline per Redis node (one
 * round trip however many groups); each script publishes the invalidation of its own group's
 * change, so a change and its announcement are atomic within a group. With one key group,
 * every operation is exactly one script, as before groups existed.
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

  /** Reads entries, one script per group; undefined for missing, expired or tag-invalidated ones. */
  async read(keys: readonly string[]): Promise<(StoredEntry | undefined)[]> {
    const parts = this.#byGroup(keys, (key) => key);
    const replies = (await runScripts(
      this.#client,
      parts.map(({ group, items }) => ({
        script: readScript,
        keys: items.map((key) => group.entry(key)),
        args: [group.tagBase],
      })),
    )) as (Buffer | null)[][];
    const entries = new Array<StoredEntry | undefined>(keys.length);
    parts.forEach(({ indexes }, p) =>
      indexes.forEach((index, j) => {
        const raw = replies[p]?.[j];
        entries[index] = raw ? parseEntry(raw) : undefined;
      }),
    );
    return entries;
  }

  /** Writes entries and publishes their invalidation, one script per group. */
  async write(entries: readonly WriteEntry[], message: Announcement): Promise<WriteOutcome> {
    const parts = this.#byGroup(entries, (entry) => entry.key);
    const calls = parts.map(({ group, items }) => {
      const keys = items.map((entry) => group.entry(entry.key));
      const payload =
        parts.length === 1 ? message.payload : message.payloadFor([...new Set(items.map((e) => e.key))], []);
      const args: ScriptArgument[] = [group.tagBase, this.#keys.channel, payload, items.length];
      for (const entry of items) {
        keys.push(...entry.tags.map((tag) => group.tag(tag)));
        const px = Math.max(1, Math.ceil(entry.staleUntil - entry.storedAt));
        const fence = entry.fence === undefined ? '' : (entry.fence.split(',')[group.index] ?? '');
        args.push(px, entry.storedAt, entry.freshUntil, entry.staleUntil, fence, entry.tags.length);
        entry.tags.forEach((tag, i) => args.push(tag, entry.expected?.[i] ?? ''));
        args.push(entry.value);
      }
      return { script: writeScript, keys, args };
    });
    const replies = (await runScripts(this.#client, calls)) as number[][];
    let receivers = 0;
    const written = new Array<boolean>(entries.length).fill(false);
    parts.forEach(({ indexes }, p) => {
      const [count = 0, ...flags] = replies[p] ?? [];
      receivers += count;
      indexes.forEach((index, j) => (written[index] = flags[j] === 1));
    });
    return { receivers, written };
  }

  /** Deletes entries and publishes their invalidation; returns how many subscribers received it. */
  async remove(keys: readonly string[], message: Announcement): Promise<number> {
    const parts = this.#byGroup(keys, (key) => key);
    const replies = await runScripts(
      this.#client,
      parts.map(({ group, items }) => ({
        script: removeScript,
        keys: items.map((key) => group.entry(key)),
        args: [this.#keys.channel, parts.length === 1 ? message.payload : message.payloadFor(items, [])],
      })),
    );
    return sum(replies);
  }

  /**
   * Moves tags to their next generation in every group (O(1) per tag and group, whatever the
   * number of entries carrying them), each group publishing `message`.
   */
  async bumpTags(tags: readonly string[], message: Announcement): Promise<number> {
    const replies = await runScripts(
      this.#client,
      this.#keys.groups.map((group) => ({
        script: bumpTagsScript,
        keys: tags.map((tag) => group.tag(tag)),
        args: [this.#keys.channel, message.payload, ABSENT_TAG_TTL_MS],
      })),
    );
    return sum(replies);
  }

  /**
   * A write fence: Redis's clock now, read on the node of every group (a group's tag
   * generations are compared with its own node's clock), comma-separated in group order.
   */
  async fence(): Promise<string> {
    const replies = await runScripts(
      this.#client,
      this.#keys.groups.map((group) => ({ script: fenceScript, keys: [group.anchor], args: [] })),
    );
    return replies.map((clock) => (clock as Buffer).toString('latin1')).join(',');
  }

  /** The current generation of each tag in `key`'s group, kept alive for at least `ttlMs`. */
  async snapshotTags(key: string, tags: readonly string[], ttlMs: number): Promise<string[]> {
    const group = this.#keys.groupOf(key);
    const reply = (await snapshotTagsScript.run(
      this.#client,
      tags.map((tag) => group.tag(tag)),
      [Math.max(1, Math.ceil(ttlMs))],
    )) as Buffer[];
    return reply.map((generation) => generation.toString('latin1'));
  }

  /** Takes the fleet lock of a key unless someone holds it. */
  async tryLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.#client.set(this.#keys.groupOf(key).lock(key), token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Releases the lock if this token still holds it, publishing `message` when it did. */
  async unlock(key: string, token: string, message: string): Promise<void> {
    await unlockScript.run(this.#client, [this.#keys.groupOf(key).lock(key)], [token, this.#keys.channel, message]);
  }

  /** Claims the refresh of one stored version of an entry; true for exactly one caller per window. */
  async claimRefresh(key: string, storedAt: number, windowMs: number): Promise<boolean> {
    const marker = this.#keys.groupOf(key).refresh(key, storedAt);
    return (await this.#client.set(marker, '1', 'PX', windowMs, 'NX')) === 'OK';
  }

  // Splits items by the group of their key, in group order, remembering where each came from.
  #byGroup<T>(items: readonly T[], keyOf: (item: T) => string): GroupPart<T>[] {
    if (this.#keys.groups.length === 1)
      return [{ group: this.#keys.groups[0], items: [...items], indexes: items.map((_, i) => i) }];
    const parts = new Map<KeyGroup, GroupPart<T>>();
    items.forEach((item, index) => {
      const group = this.#keys.groupOf(keyOf(item));
      let part = parts.get(group);
      if (!part) parts.set(group, (part = { group, items: [], indexes: [] }));
      part.items.push(item);
      part.indexes.push(index);
    });
    return [...parts.values()].sort((a, b) => a.group.index - b.group.index);
  }
}

function sum(receivers: readonly unknown[]): number {
  return receivers.reduce<number>((total, count) => total + Number(count ?? 0), 0);
}

// An invalidated tag nobody has written under yet must outlive any computation fenced before
// the invalidation; an hour is far longer than a page or fragment takes to compute.
const ABSENT_TAG_TTL_MS = 3_600_000;
