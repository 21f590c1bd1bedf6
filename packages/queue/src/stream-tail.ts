import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '@flotilla/redis';

/** One stream entry: its id and its field/value list. */
export type StreamEntry = readonly [id: string, fields: readonly string[]];

/** Options of a {@link StreamTail}. */
export interface StreamTailOptions {
  /** The streams to follow; on Redis Cluster they must share a hash slot (one hash tag). */
  readonly keys: readonly string[];
  /**
   * A connection used for nothing else (role `consumer`: it waits out outages). The tail blocks
   * on it and ends it on close: only a disconnect interrupts a blocked read.
   */
  readonly connection: RedisClient;
  /** Called for every new entry, in stream order per key. */
  readonly onEntry: (key: string, entry: StreamEntry) => void;
  /** Told about failed reads; the tail retries after a second. */
  readonly onError: (error: Error) => void;
  /** How long one read blocks in Redis; defaults to 5000 ms. */
  readonly blockMs?: number;
  /**
   * When given, the tail reads only while this says someone wants the entries, and rests
   * otherwise (a web nobody follows a job on reads nothing); {@link StreamTail.wake} starts it
   * again. Without it the tail reads all the time.
   */
  readonly wanted?: () => boolean;
  /**
   * Where {@link StreamTail.wake} reads the streams' newest ids: the connection the caller reads
   * the streams on next, so that Redis answers the tail's read first (defaults to `connection`).
   */
  readonly positionReader?: RedisClient;
}

const DEFAULT_BLOCK_MS = 5_000;
// Past its BLOCK time plus this, a read that has not been answered is on a dead connection
// (a peer that vanished without a reset); TCP keep-alive would take minutes to notice.
const WATCHDOG_GRACE_MS = 5_000;
const RETRY_DELAY_MS = 1_000;
const ENTRIES_PER_READ = 1_000;

type XReadReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

/**
 * Follows several Redis streams over one blocking connection: XREAD takes any number of
 * stream keys, so a process needs one reader for all its queues' event streams, where BullMQ's
 * QueueEvents holds a connection per queue. It starts after the newest entry each stream
 * has when it starts, and resumes after the last entry it delivered when the connection comes
 * back, so nothing in between is skipped. Hand-written for that reason.
 */
export class StreamTail {
  readonly #options: StreamTailOptions;
  readonly #blockMs: number;
  readonly #ids: string[];
  readonly #started: Promise<void>;
  readonly #running: Promise<void>;
  readonly #stop = new AbortController();
  #closed = false;
  // Set while the tail rests: called with the read of its new starting point to go on.
  #resume: ((start: { readonly positions: Promise<void> }) => void) | undefined;

  constructor(options: StreamTailOptions) {
    if (options.keys.length === 0) throw new TypeError('StreamTail needs at least one stream key');
    this.#options = options;
    this.#blockMs = options.blockMs ?? DEFAULT_BLOCK_MS;
    this.#ids = options.keys.map(() => '0-0');
    this.#started = this.#readNewestIds();
    // Reported through waitUntilStarted(); the loop waits for the same promise.
    this.#started.catch(() => undefined);
    this.#running = this.#run();
  }

  /** Resolves once the starting point of every stream is known: entries added from then on are delivered. */
  async waitUntilStarted(): Promise<void> {
    await this.#started;
  }

  /**
   * Starts a resting tail again, from the streams' newest entries now. The ids are requested at
   * once on `positionReader`, so a caller that then reads a stream's newest id there itself
   * misses nothing between the two. A tail still reading (or waiting for its last read) keeps
   * its position, which is older still.
   */
  wake(): void {
    const resume = this.#resume;
    if (!resume) return;
    this.#resume = undefined;
    resume({ positions: this.#readNewestIds(this.#options.positionReader) });
  }

  /** Stops reading and ends the connection. Idempotent. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#resume?.({ positions: Promise.resolve() });
      this.#resume = undefined;
      this.#stop.abort();
      this.#options.connection.disconnect();
    }
    await this.#running;
  }

  // '$' would be evaluated again by every XREAD, losing what arrives between two reads.
  async #readNewestIds(reader = this.#options.connection): Promise<void> {
    const newest = await Promise.all(this.#options.keys.map((key) => reader.xrevrange(key, '+', '-', 'COUNT', 1)));
    newest.forEach((entries, index) => {
      const id = entries[0]?.[0];
      if (id !== undefined) this.#ids[index] = id;
    });
  }

  async #run(): Promise<void> {
    await this.#startFrom(this.#started);
    while (!this.#closed) {
      if (this.#options.wanted?.() === false) {
        await this.#rest();
        continue;
      }
      let reply: XReadReply;
      try {
        reply = await this.#read();
      } catch (error) {
        this.#failed(error);
        await this.#pause();
        continue;
      }
      for (const [key, entries] of reply ?? []) {
        const index = this.#options.keys.indexOf(key);
        for (const entry of entries) {
          this.#ids[index] = entry[0];
          if (this.#closed) return;
          this.#options.onEntry(key, entry);
        }
      }
    }
  }

  // Until wake(), then from the positions it read.
  async #rest(): Promise<void> {
    // Wrapped: a promise resolved with a promise would wait for it and lose its failure here.
    const { positions } = await new Promise<{ readonly positions: Promise<void> }>(
      (resolve) => (this.#resume = resolve),
    );
    await this.#startFrom(positions);
  }

  // Once `positions` is read; when that failed, from the newest ids read again on the tail's own
  // connection once Redis answers.
  async #startFrom(positions: Promise<void>): Promise<void> {
    let read: Promise<void> = positions;
    for (;;) {
      const started = await read.then(
        () => true,
        (error: unknown) => this.#failed(error),
      );
      if (started || this.#closed) return;
      await this.#pause();
      read = this.#readNewestIds();
    }
  }

  async #pause(): Promise<void> {
    await sleep(RETRY_DELAY_MS, undefined, { signal: this.#stop.signal }).catch(() => undefined);
  }

  // Returns false, for the retry loops.
  #failed(error: unknown): false {
    if (!this.#closed) this.#options.onError(error instanceof Error ? error : new Error(String(error)));
    return false;
  }

  async #read(): Promise<XReadReply> {
    const { connection, keys } = this.#options;
    const read = connection.call(
      'XREAD',
      'COUNT',
      ENTRIES_PER_READ,
      'BLOCK',
      this.#blockMs,
      'STREAMS',
      ...keys,
      ...this.#ids,
    ) as Promise<XReadReply>;
    // Dropping the socket makes ioredis send the read again on a new one (its commands wait
    // out outages), which answers the same promise.
    const watchdog = setTimeout(() => {
      if (!this.#closed && connection.status === 'ready') connection.disconnect(true);
    }, this.#blockMs + WATCHDOG_GRACE_MS);
    try {
      return await read;
    } finally {
      clearTimeout(watchdog);
    }
  }
}
