import type { RequestHandler } from 'express';
import type { RedisClient } from '@flotilla/redis';
import type { Logger } from '@flotilla/telemetry';
import { clientKey } from './client-key.js';
import { HttpProblem } from './problems.js';

/** How many requests a client may send per window, and where the counts live. */
export interface RateLimitOptions {
  /** A fail-fast connection (no offline queue): a command fails at once while Redis is away. */
  readonly redis: RedisClient;
  /** Prefix of the counter keys, e.g. `flotilla:cache:rate-limit`. */
  readonly keyPrefix: string;
  readonly requests: number;
  /** The window's length in ms; whole seconds, as the 429 names it in seconds. */
  readonly windowMs: number;
  readonly logger: Logger;
  /** How often this process adds what it counted to the fleet's counters (default 100 ms). */
  readonly syncEveryMs?: number;
}

/** One client's count in its current window, as far as this process knows it. */
interface ClientCount {
  /** The fleet's count in Redis at the last sync, this process's requests included. */
  fleet: number;
  /** This process's requests since, not yet added to Redis. */
  unsynced: number;
  /** This process's requests on their way to Redis, in neither count above until it answers. */
  sending: number;
  /** When the window ends (epoch ms), from the Redis key's time to live. */
  endsAt: number;
}

const DEFAULT_SYNC_EVERY_MS = 100;

/** Every request of the client this process knows of: the fleet's, its own unsent, its own in flight. */
function counted(count: ClientCount): number {
  return count.fleet + count.unsynced + count.sending;
}

/**
 * Per-client request limit: a fixed window from the client's first request, counted in Redis so
 * that the limit holds across every replica; beyond it, 429 problem JSON with Retry-After.
 *
 * A client's first request in a window waits for Redis (INCRBY returns the fleet's count); its
 * later ones are counted in this process and added to Redis in one round trip every
 * `syncEveryMs`, which returns the fleet's count again. A request then costs no round trip of
 * its own, and the fleet can admit one client at most what the other replicas admitted since
 * their last sync beyond the limit: replicas × its rate × 100 ms. Hand-written because
 * rate-limiter-flexible asks Redis on every request, a round trip that was a fifth of a job
 * submission's CPU time.
 *
 * While Redis cannot be reached the counts stay in this process (said once in the log) and are
 * added when it is back. It fails open to a per-process limit rather than answering 503: the
 * limit guards capacity, not correctness; the counters live in the cache Redis, whose outage
 * must not take down routes that do not need it; and a flood is still bounded, at the limit
 * times the number of replicas.
 */
export class ApiRateLimiter {
  // One entry per client seen within a window; ended windows go at the next sync.
  private readonly counts = new Map<string, ClientCount>();
  private readonly windowMs: number;
  private readonly syncEveryMs: number;
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private redisFailing = false;

  constructor(private readonly options: RateLimitOptions) {
    const { requests, windowMs } = options;
    if (!(Number.isInteger(requests) && requests > 0))
      throw new TypeError(`ApiRateLimiter needs a positive request count, got ${requests}`);
    if (!(Number.isInteger(windowMs) && windowMs > 0))
      throw new TypeError(`ApiRateLimiter needs a positive window, got ${windowMs} ms`);
    this.windowMs = windowMs;
    this.syncEveryMs = options.syncEveryMs ?? DEFAULT_SYNC_EVERY_MS;
  }

  /** Counts one request of `key`; the milliseconds to wait when over the limit, else undefined. */
  consume(key: string): number | undefined | Promise<number | undefined> {
    const now = Date.now();
    const count = this.counts.get(key);
    if (!count || count.endsAt <= now) return this.firstOfWindow(key, now);
    if (counted(count) >= this.options.requests) return count.endsAt - now;
    count.unsynced += 1;
    this.scheduleSync();
    return undefined;
  }

  /** How many clients this process holds a count for: those seen within about one window. */
  get clientsCounted(): number {
    return this.counts.size;
  }

  /** Express middleware: one request of the client's budget, or 429 with Retry-After. */
  middleware(): RequestHandler {
    return (req, _res, next) => {
      const refusal = this.admit(clientKey(req.ip));
      if (refusal === undefined) return next();
      if (refusal instanceof HttpProblem) throw refusal;
      return refusal.then((problem) => {
        if (problem) throw problem;
        next();
      });
    };
  }

  /** Counts one request of the client `key`: the 429 to answer when it is over the limit, else undefined. */
  admit(key: string): HttpProblem | undefined | Promise<HttpProblem | undefined> {
    const waitMs = this.consume(key);
    if (waitMs === undefined) return undefined;
    if (typeof waitMs === 'number') return this.refusal(waitMs);
    return waitMs.then((wait) => (wait === undefined ? undefined : this.refusal(wait)));
  }

  private refusal(waitMs: number): HttpProblem {
    const seconds = String(Math.max(1, Math.ceil(waitMs / 1000)));
    return new HttpProblem(
      'rate-limited',
      `more than ${this.options.requests} requests in ${this.windowMs / 1000} s from this client; retry in ${seconds} s`,
      undefined,
      {
        'retry-after': seconds,
      },
    );
  }

  /** Stops syncing after adding what is still counted here to Redis. */
  async close(): Promise<void> {
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    await this.syncing;
    await this.sync();
  }

  // The client's first request in a window waits for the fleet's count; requests that come
  // meanwhile count on the entry made here, as later ones do.
  private async firstOfWindow(key: string, now: number): Promise<number | undefined> {
    const count: ClientCount = { fleet: 0, unsynced: 0, sending: 1, endsAt: now + this.windowMs };
    this.counts.set(key, count);
    try {
      const { fleet, endsAt } = await this.add(key, 1);
      count.fleet = Math.max(count.fleet, fleet);
      count.endsAt = endsAt;
      this.redisBack();
    } catch (error) {
      this.redisLost(error);
      count.unsynced += 1;
      return undefined;
    } finally {
      count.sending -= 1;
      // Also when the client sends nothing more: the sync forgets clients whose window ended.
      this.scheduleSync();
    }
    return count.fleet > this.options.requests ? count.endsAt - now : undefined;
  }

  private scheduleSync(): void {
    if (this.syncTimer !== undefined) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      this.syncing = this.sync().finally(() => (this.syncing = undefined));
    }, this.syncEveryMs);
    this.syncTimer.unref();
  }

  /** Adds every count not yet in Redis, all in the same round trip, and learns the fleet's back. */
  private async sync(): Promise<void> {
    const now = Date.now();
    const sent: { key: string; count: ClientCount; adding: number }[] = [];
    for (const [key, count] of this.counts) {
      if (count.endsAt <= now) this.counts.delete(key);
      else if (count.unsynced > 0) sent.push({ key, count, adding: count.unsynced });
    }
    for (const { count, adding } of sent) {
      count.unsynced -= adding;
      count.sending += adding;
    }
    const outcomes = await Promise.allSettled(
      sent.map(async ({ key, count, adding }) => {
        try {
          ({ fleet: count.fleet, endsAt: count.endsAt } = await this.add(key, adding));
        } finally {
          count.sending -= adding;
        }
      }),
    );
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (!failure) {
      if (sent.length > 0) this.redisBack();
      return;
    }
    this.redisLost(failure.reason);
    // Added again at the next sync: Redis may be back by then.
    sent.forEach(({ count, adding }, i) => {
      if (outcomes[i]?.status === 'rejected') count.unsynced += adding;
    });
    this.scheduleSync();
  }

  // A transaction per client, not one for all: on a Redis Cluster their keys live in different
  // slots, which one MULTI cannot span. The key's time to live is the window: set with the
  // first request, read back with every count.
  private async add(key: string, adding: number): Promise<{ fleet: number; endsAt: number }> {
    const redisKey = `${this.options.keyPrefix}:${key}`;
    const sentAt = Date.now();
    const replies = await this.options.redis
      .multi()
      .set(redisKey, 0, 'PX', this.windowMs, 'NX')
      .incrby(redisKey, adding)
      .pttl(redisKey)
      .exec();
    const [, [countError, fleet] = [], [ttlError, ttl] = []] = replies ?? [];
    const error =
      countError ?? ttlError ?? (replies ? undefined : new Error('the rate limit transaction was discarded'));
    if (error) throw error;
    return { fleet: Number(fleet), endsAt: sentAt + (Number(ttl) > 0 ? Number(ttl) : this.windowMs) };
  }

  private redisLost(error: unknown): void {
    if (this.redisFailing) return;
    this.redisFailing = true;
    this.options.logger.warn(
      { err: error instanceof Error ? error.message : String(error) },
      'rate limiter cannot reach Redis; counting per process until it is back',
    );
  }

  private redisBack(): void {
    if (!this.redisFailing) return;
    this.redisFailing = false;
    this.options.logger.info('rate limiter reaches Redis again');
  }
}
