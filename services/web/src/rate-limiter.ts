import type { RequestHandler } from 'express';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
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
  readonly windowSeconds: number;
  readonly logger: Logger;
}

/**
 * Per-client request limit (rate-limiter-flexible): a fixed window counted in Redis, so the
 * limit holds across every replica; beyond it, 429 problem JSON with Retry-After.
 *
 * While Redis cannot be reached it counts in this process's memory instead (and says so once
 * in the log). It fails open to a per-process limit rather than answering 503: the limit guards
 * capacity, not correctness; the counters live in the cache Redis, whose outage must not take
 * down routes that do not need it; routes that do need Redis answer 503 by themselves; and a
 * flood is still bounded, at the limit times the number of replicas.
 */
export class ApiRateLimiter {
  private readonly shared: RateLimiterRedis;
  private readonly local: RateLimiterMemory;
  private redisFailing = false;

  constructor(private readonly options: RateLimitOptions) {
    const { requests, windowSeconds, keyPrefix } = options;
    if (!(Number.isInteger(requests) && requests > 0)) throw new TypeError(`ApiRateLimiter needs a positive request count, got ${requests}`);
    if (!(Number.isInteger(windowSeconds) && windowSeconds > 0)) throw new TypeError(`ApiRateLimiter needs a positive window, got ${windowSeconds}`);
    this.shared = new RateLimiterRedis({
      storeClient: options.redis,
      keyPrefix,
      points: requests,
      duration: windowSeconds,
      // Not a round trip while reconnecting: straight to the in-memory fallback.
      rejectIfRedisNotReady: true,
      // A client past its limit is refused from memory for the rest of its window, so a
      // flood costs Redis nothing.
      inMemoryBlockOnConsumed: requests + 1,
    });
    this.local = new RateLimiterMemory({ keyPrefix, points: requests, duration: windowSeconds });
  }

  /** Counts one request of `key`; resolves with the milliseconds to wait when over the limit. */
  async consume(key: string): Promise<number | undefined> {
    try {
      await this.shared.consume(key);
      this.redisBack();
      return undefined;
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) return outcome.msBeforeNext;
      this.redisLost(outcome);
    }
    try {
      await this.local.consume(key);
      return undefined;
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) return outcome.msBeforeNext;
      throw outcome;
    }
  }

  /** Express middleware: one request of the client's budget, or 429 with Retry-After. */
  middleware(): RequestHandler {
    const { requests, windowSeconds } = this.options;
    return async (req, _res, next) => {
      const waitMs = await this.consume(clientKey(req.ip));
      if (waitMs === undefined) {
        next();
        return;
      }
      const seconds = String(Math.max(1, Math.ceil(waitMs / 1000)));
      throw new HttpProblem('rate-limited', `more than ${requests} requests in ${windowSeconds} s from this client; retry in ${seconds} s`, undefined, {
        'retry-after': seconds,
      });
    };
  }

  private redisLost(error: unknown): void {
    if (this.redisFailing) return;
    this.redisFailing = true;
    this.options.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'rate limiter cannot reach Redis; counting per process until it is back');
  }

  private redisBack(): void {
    if (!this.redisFailing) return;
    this.redisFailing = false;
    this.options.logger.info('rate limiter reaches Redis again');
  }
}
