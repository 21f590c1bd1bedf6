import type { Queue, Worker } from 'bullmq';
import type { RedisClient } from '@flotilla/redis';
import { isFinalFailure } from './final-failure.js';
import { snapshotQueue, type QueueSnapshot } from './queue-snapshot.js';

/** Jobs finished per minute, oldest minute first, the last entry being the current (partial) minute. */
export interface QueueThroughput {
  readonly completed: readonly number[];
  readonly failed: readonly number[];
}

/** How a job left the queue for good: it completed, or it failed with no attempt to follow. */
export type FinishedOutcome = keyof QueueThroughput;

const MINUTE_MS = 60_000;
/** How many minutes back the counts can be read; older minutes expire from Redis. */
const THROUGHPUT_HISTORY_MINUTES = 60;
// Each minute's counter lives a little longer than the history that reads it.
const COUNTER_TTL_SECONDS = (THROUGHPUT_HISTORY_MINUTES + 5) * 60;

// One counter per queue, outcome and minute, next to the queue's own keys: it shares their
// hash tag (one cluster slot) and goes when the queue is obliterated.
function counterKey(prefix: string, queue: string, outcome: FinishedOutcome, minute: number): string {
  return `${prefix}:${queue}:throughput:${outcome}:${minute}`;
}

/** How often a recorder writes its counts at most. */
export interface ThroughputRecorderOptions {
  readonly flushIntervalMs?: number;
  /** Told when a write fails; the counts are kept and written with the next one. */
  readonly onError?: (error: Error) => void;
}

/**
 * Counts the jobs this process finishes per queue and minute and adds them to fleet-wide
 * counters in Redis, at most once per interval. Written here rather than with BullMQ's `metrics`
 * worker option: that one adds Redis work to every job's completion, a measurable share of a
 * short job's cost, where this adds one pipeline per interval whatever the rate. The first job
 * after a quiet spell is written at once, so a trickle shows without delay.
 */
export class ThroughputRecorder {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #intervalMs: number;
  readonly #onError: (error: Error) => void;
  // counterKey → jobs not yet written.
  readonly #pending = new Map<string, number>();
  #lastFlushAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;

  /** `prefix` is the queues' key prefix, e.g. `{flotilla}`. */
  constructor(redis: RedisClient, prefix: string, options: ThroughputRecorderOptions = {}) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#intervalMs = options.flushIntervalMs ?? 2000;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Counts the jobs one BullMQ worker of this process finishes on `queue`. */
  observe(worker: Worker, queue: string): void {
    worker.on('completed', () => this.record(queue, 'completed'));
    worker.on('failed', (job) => {
      if (job && isFinalFailure(job)) this.record(queue, 'failed');
    });
  }

  record(queue: string, outcome: FinishedOutcome, at = Date.now()): void {
    const key = counterKey(this.#prefix, queue, outcome, Math.floor(at / MINUTE_MS));
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
    this.#timer ??= setTimeout(() => void this.flush(), Math.max(0, this.#lastFlushAt + this.#intervalMs - Date.now()));
  }

  /** Writes the counts recorded so far; resolves once they are in Redis (or the write failed). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#flushing;
    if (this.#pending.size === 0) return;
    this.#lastFlushAt = Date.now();
    const batch = [...this.#pending];
    this.#pending.clear();
    const pipeline = this.#redis.pipeline();
    for (const [key, count] of batch) pipeline.incrby(key, count).expire(key, COUNTER_TTL_SECONDS);
    this.#flushing = pipeline
      .exec()
      .then((results) => {
        const failed = results?.find(([error]) => error)?.[0];
        if (failed) throw failed;
      })
      .catch((error: unknown) => {
        // Put back for the next write, unless the minute has aged out of what is read.
        const oldest = Math.floor(Date.now() / MINUTE_MS) - THROUGHPUT_HISTORY_MINUTES;
        for (const [key, count] of batch) {
          if (Number(key.slice(key.lastIndexOf(':') + 1)) >= oldest)
            this.#pending.set(key, (this.#pending.get(key) ?? 0) + count);
        }
        if (this.#pending.size > 0) this.#timer ??= setTimeout(() => void this.flush(), this.#intervalMs);
        this.#onError(error instanceof Error ? error : new Error(String(error)));
      })
      .finally(() => (this.#flushing = undefined));
    await this.#flushing;
  }

  /** Writes what is left and stops the timer (a process shutting down). */
  async stop(): Promise<void> {
    await this.flush();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** Completed and failed jobs per minute over the last `minutes` minutes, fleet-wide. */
export async function readQueueThroughput(queue: Queue, minutes: number, now = Date.now()): Promise<QueueThroughput> {
  const nowMinute = Math.floor(now / MINUTE_MS);
  const window = Array.from({ length: minutes }, (_, i) => nowMinute - minutes + 1 + i);
  const prefix = queue.opts.prefix ?? 'bull';
  const keys = [
    ...window.map((m) => counterKey(prefix, queue.name, 'completed', m)),
    ...window.map((m) => counterKey(prefix, queue.name, 'failed', m)),
  ];
  // BullMQ's client interface has no typed MGET; its generic command call answers `any`.
  const counts: unknown = await (await queue.getBackend().client).runCommand('mget', keys);
  if (!Array.isArray(counts)) throw new Error('MGET did not answer a list');
  const numbers = counts.map((c) => Number(c ?? 0));
  return { completed: numbers.slice(0, minutes), failed: numbers.slice(minutes) };
}

/** A queue's snapshot with its jobs finished per minute, as operators look at a queue. */
export interface QueueOverview extends QueueSnapshot {
  readonly throughput: QueueThroughput;
}

/**
 * Reads a queue's snapshot over its shards (first shard first) and its throughput over the
 * last `minutes` minutes, concurrently. Throughput is counted per logical queue, under the
 * first shard's prefix.
 */
export async function readQueueOverview(
  shards: readonly [Queue, ...Queue[]],
  minutes: number,
  now = Date.now(),
): Promise<QueueOverview> {
  const [snapshot, throughput] = await Promise.all([
    snapshotQueue(shards, now),
    readQueueThroughput(shards[0], minutes, now),
  ]);
  return { ...snapshot, throughput };
}
