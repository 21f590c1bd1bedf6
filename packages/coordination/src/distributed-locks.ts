import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '@flotilla/redis';
import { LockTimeoutError } from './errors.js';
import { HeldLock, type Lock } from './held-lock.js';
import { keepLeaseAlive } from './lease-keeper.js';
import { acquireScript } from './lock-scripts.js';
import { keyPart, keyPrefix, nonNegativeMs, optionsObject, positiveMs, redisClient } from './validate.js';

/** Options of one acquisition. */
export interface AcquireOptions {
  /** Lease length: the lock frees itself this long after the last acquire or extend. */
  readonly ttlMs: number;
  /** How long to wait for a held lock; 0 (the default) tries once. */
  readonly waitMs?: number;
}

/** Options of {@link DistributedLocks.withLock}. */
export interface WithLockOptions extends AcquireOptions {
  /** How often the lease is renewed while the function runs; less than ttlMs, a third of it by default. */
  readonly renewEveryMs?: number;
}

// Waiters poll with capped, jittered exponential backoff: the cap bounds how long a freed lock
// sits idle, the jitter keeps many waiters from hitting Redis in step.
const FIRST_RETRY_MS = 10;
const MAX_RETRY_MS = 250;

/**
 * Mutual exclusion across processes sharing one Redis: a lease (SET NX PX) stored under a random
 * owner id, so only its owner can extend or release it (compare-and-act in Lua), plus a fencing
 * token per acquisition from a per-name counter that never goes back. Keys are
 * `<prefix>{<name>}` (the lease) and `<prefix>{<name>}:token` (the counter, kept forever so
 * tokens never repeat); the shared hash tag keeps both in one Redis Cluster slot.
 *
 * Hand-written: Redlock-style npm libraries hand out no fencing token, and a lease without one
 * cannot protect a resource from a holder that paused past its lease.
 */
export class DistributedLocks {
  readonly #redis: RedisClient;
  readonly #prefix: string;

  /** `prefix` starts every key, e.g. `flotilla:lock:`. The connection stays the caller's. */
  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redisClient('DistributedLocks redis', redis);
    this.#prefix = keyPrefix('DistributedLocks prefix', prefix);
  }

  /** Takes the lock if it is free now; undefined when someone holds it. */
  async tryAcquire(name: string, options: Pick<AcquireOptions, 'ttlMs'>): Promise<Lock | undefined> {
    keyPart('lock name', name);
    const ttlMs = positiveMs('ttlMs', optionsObject('lock options', options).ttlMs);
    const owner = randomBytes(16).toString('hex');
    const lease = `${this.#prefix}{${name}}`;
    const sentAt = Date.now();
    const token = await acquireScript.run(this.#redis, [lease, `${lease}:token`], [owner, ttlMs]);
    if (token === null) return undefined;
    return new HeldLock(this.#redis, name, Number(token), lease, owner, sentAt + ttlMs);
  }

  /**
   * Takes the lock, waiting up to `waitMs` for its holder to release it or for the lease to run
   * out. Throws LockTimeoutError when the wait ends without it.
   */
  async acquire(name: string, options: AcquireOptions): Promise<Lock> {
    const waitMs = nonNegativeMs('waitMs', optionsObject('lock options', options).waitMs ?? 0);
    const deadline = Date.now() + waitMs;
    for (let pause = FIRST_RETRY_MS; ; pause = Math.min(pause * 2, MAX_RETRY_MS)) {
      const lock = await this.tryAcquire(name, options);
      if (lock) return lock;
      const left = deadline - Date.now();
      if (left <= 0) throw new LockTimeoutError(name, waitMs);
      await sleep(Math.min(left, pause / 2 + Math.random() * (pause / 2)));
    }
  }

  /**
   * Runs `fn` holding the lock, renewing the lease until `fn` settles, then releases it whatever
   * happened. When the lease may have been lost (Redis says another owner has it or nobody does,
   * or no renewal got through before it ran out) the signal passed to `fn` aborts with a
   * LockLostError: `fn` must stop touching the protected resource, and should hand `token` to it
   * so that a write it can no longer stop is refused anyway.
   */
  async withLock<T>(
    name: string,
    fn: (signal: AbortSignal, token: number) => Promise<T>,
    options: WithLockOptions,
  ): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('withLock needs a function to run while holding the lock');
    const ttlMs = positiveMs('ttlMs', optionsObject('lock options', options).ttlMs);
    const renewEveryMs = positiveMs('renewEveryMs', options.renewEveryMs ?? Math.max(1, Math.floor(ttlMs / 3)));
    if (renewEveryMs >= ttlMs)
      throw new RangeError(`renewEveryMs (${renewEveryMs}) must be less than ttlMs (${ttlMs})`);
    const lock = await this.acquire(name, options);
    const keeper = keepLeaseAlive(lock, ttlMs, renewEveryMs);
    try {
      return await fn(keeper.signal, lock.token);
    } finally {
      keeper.stop();
      // Safe even after a loss (it deletes only this owner's lease); when Redis is unreachable
      // the lease simply runs out, so a failed release must not hide fn's result or error.
      await lock.release().catch(() => false);
    }
  }
}
