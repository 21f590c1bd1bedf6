import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LuaScript, type RedisClient } from '@flotilla/redis';
import { LockLostError, LockTimeoutError } from './errors.js';
import { keyPart, nonNegativeInteger, positiveInteger } from './validate.js';

// Hand-written: Redlock-style libraries give no fencing token, which is the point of this lock.
// Lease and token counter of one lock share a hash tag, so the script runs on a Redis Cluster.
const acquireScript = new LuaScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false`);

const releaseScript = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

const extendScript = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`);

const FIRST_RETRY_MS = 10;
const MAX_RETRY_MS = 250;

/** Options of one acquisition. */
export interface AcquireOptions {
  /** Lease length: the lock frees itself this long after the last acquire or extend. */
  readonly ttlMs: number;
  /** How long to wait for a held lock; 0 (the default) tries once. */
  readonly waitMs?: number;
}

/** A held lease. Its token grows with every acquisition of the same lock name, by anyone. */
export interface Lock {
  readonly name: string;
  /** Fencing token: a resource that saw a larger token must refuse this holder's writes. */
  readonly token: number;
  /** Renews the lease for `ttlMs` from now; throws LockLostError when it is no longer held. */
  extend(ttlMs: number): Promise<void>;
  /** Frees the lock; false when it had already expired or passed to someone else. */
  release(): Promise<boolean>;
}

/** Options of `withLock`. */
export interface WithLockOptions extends AcquireOptions {
  /** How often the lease is renewed while the function runs; defaults to a third of ttlMs. */
  readonly renewEveryMs?: number;
}

/**
 * Mutual exclusion across processes on one Redis: a lease (SET NX PX) owned by a random id, so
 * only its owner can extend or release it (compare-and-act in Lua), plus a fencing token per
 * acquisition from a counter that never goes back.
 */
export class DistributedLocks {
  readonly #redis: RedisClient;
  readonly #prefix: string;

  /** `prefix` starts every key, e.g. `flotilla:lock:`; keys are `<prefix>{<name>}`. */
  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  /** Takes the lock if it is free now; undefined when someone holds it. */
  async tryAcquire(name: string, options: { readonly ttlMs: number }): Promise<Lock | undefined> {
    keyPart('lock name', name);
    const ttlMs = positiveInteger('ttlMs', options.ttlMs);
    const owner = randomBytes(16).toString('hex');
    const keys = this.#keys(name);
    const token = await acquireScript.run(this.#redis, [keys.lease, keys.counter], [owner, ttlMs]);
    if (token === null) return undefined;
    return this.#lock(name, Number(token), owner);
  }

  /**
   * Takes the lock, waiting up to `waitMs` for a holder to release it or for its lease to end
   * (polling with jittered backoff, so waiters do not hit Redis in step). Throws
   * LockTimeoutError when the wait runs out.
   */
  async acquire(name: string, options: AcquireOptions): Promise<Lock> {
    const waitMs = nonNegativeInteger('waitMs', options.waitMs ?? 0);
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
   * Runs `fn` holding the lock and renewing its lease until `fn` settles; then releases it. When
   * a renewal fails (the lease expired, was taken over, or Redis did not answer) the signal
   * passed to `fn` is aborted with a LockLostError: `fn` must stop touching the protected
   * resource, and should pass the token to it so a late write is refused anyway.
   */
  async withLock<T>(name: string, fn: (signal: AbortSignal, token: number) => Promise<T>, options: WithLockOptions): Promise<T> {
    const renewEveryMs = positiveInteger('renewEveryMs', options.renewEveryMs ?? Math.max(1, Math.floor(options.ttlMs / 3)));
    const lock = await this.acquire(name, options);
    const lease = new AbortController();
    const timer = setInterval(() => {
      lock.extend(options.ttlMs).catch((error: unknown) => {
        clearInterval(timer);
        lease.abort(error instanceof LockLostError ? error : new LockLostError(name, lock.token));
      });
    }, renewEveryMs);
    try {
      return await fn(lease.signal, lock.token);
    } finally {
      clearInterval(timer);
      if (!lease.signal.aborted) await lock.release().catch(() => false);
    }
  }

  #keys(name: string): { lease: string; counter: string } {
    const lease = `${this.#prefix}{${name}}`;
    return { lease, counter: `${lease}:token` };
  }

  #lock(name: string, token: number, owner: string): Lock {
    const { lease } = this.#keys(name);
    const redis = this.#redis;
    return {
      name,
      token,
      async extend(ttlMs) {
        const extended = await extendScript.run(redis, [lease], [owner, positiveInteger('ttlMs', ttlMs)]);
        if (Number(extended) !== 1) throw new LockLostError(name, token);
      },
      async release() {
        return Number(await releaseScript.run(redis, [lease], [owner])) === 1;
      },
    };
  }
}
