import type { RequestHandler } from 'express';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisClient } from '@flotilla/redis';
import { clientKey } from './client-key.js';
import { HttpProblem } from './problems.js';

/** How many failed authentications a client may have per window, and where they are counted. */
export interface FailedAuthOptions {
  /** A fail-fast connection to the cache Redis. */
  readonly redis: RedisClient;
  /** Prefix of the counter keys, e.g. `flotilla:cache:auth-failures`. */
  readonly keyPrefix: string;
  readonly failures: number;
  readonly windowMs: number;
}

/**
 * Slows credential guessing against /metrics, the dashboard and the admin and fleet APIs: every
 * 401 a client gets is counted in Redis (so the count holds across replicas), and once it has had
 * `failures` in the window, every request of its that carries credentials is answered 429 with
 * Retry-After until the window ends, right ones included (a guess must not be confirmable).
 * Requests without credentials are not touched. While Redis cannot be reached the count is kept
 * in this process's memory, as the API rate limit does.
 */
export class FailedAuthGuard {
  readonly #shared: RateLimiterRedis;
  readonly #local: RateLimiterMemory;
  readonly #failures: number;

  constructor(options: FailedAuthOptions) {
    const { failures, windowMs, keyPrefix } = options;
    // rate-limiter-flexible counts its window in whole seconds.
    const duration = Math.ceil(windowMs / 1000);
    if (!(Number.isInteger(failures) && failures > 0))
      throw new TypeError(`FailedAuthGuard needs a positive failure count, got ${failures}`);
    this.#failures = failures;
    this.#shared = new RateLimiterRedis({
      storeClient: options.redis,
      keyPrefix,
      points: failures,
      duration,
      rejectIfRedisNotReady: true,
    });
    this.#local = new RateLimiterMemory({ keyPrefix, points: failures, duration });
  }

  /** Milliseconds until `key` may try credentials again, or undefined when it may now. */
  async blockedFor(key: string): Promise<number | undefined> {
    let state: RateLimiterRes | null;
    try {
      state = await this.#shared.get(key);
    } catch {
      state = await this.#local.get(key);
    }
    return state && state.consumedPoints >= this.#failures ? Math.max(1, state.msBeforeNext) : undefined;
  }

  /** Counts one failed authentication of `key`. */
  async fail(key: string): Promise<void> {
    try {
      await this.#shared.penalty(key);
    } catch {
      await this.#local.penalty(key).catch(() => undefined);
    }
  }

  /** Express middleware, before every route that checks credentials. */
  middleware(): RequestHandler {
    return async (req, res, next) => {
      const key = clientKey(req.ip);
      if (req.headers.authorization !== undefined) {
        const waitMs = await this.blockedFor(key);
        if (waitMs !== undefined) {
          const seconds = String(Math.ceil(waitMs / 1000));
          throw new HttpProblem(
            'rate-limited',
            `too many failed authentications from this client; try again in ${seconds} s`,
            undefined,
            { 'retry-after': seconds },
          );
        }
      }
      res.once('finish', () => {
        if (res.statusCode === 401) void this.fail(key);
      });
      next();
    };
  }
}
