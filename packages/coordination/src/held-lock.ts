import type { RedisClient } from '@flotilla/redis';
import { LockLostError } from './errors.js';
import { extendScript, releaseScript } from './lock-scripts.js';
import { positiveMs } from './validate.js';

/** A held lease on a named lock, as {@link DistributedLocks} hands it out. */
export interface Lock {
  readonly name: string;
  /**
   * Fencing token: larger for every acquisition of this lock name, by anyone. Pass it to the
   * protected resource, which must refuse a write carrying a smaller token than one it has seen:
   * that stops a holder that lost its lease (a long GC pause) from writing after its successor.
   */
  readonly token: number;
  /**
   * Until when (epoch ms, this process's clock) the lease is certainly still held: measured from
   * before the last successful acquire or extend request was sent, so it errs early.
   */
  readonly validUntil: number;
  /** Restarts the lease for `ttlMs` from now; throws LockLostError when it is no longer held. */
  extend(ttlMs: number): Promise<void>;
  /** Frees the lock; false when it had already expired or passed to another owner. */
  release(): Promise<boolean>;
}

/** A lease whose owner id only this object knows, so only it can extend or release the lease. */
export class HeldLock implements Lock {
  readonly #redis: RedisClient;
  readonly #leaseKey: string;
  readonly #owner: string;
  #validUntil: number;

  constructor(
    redis: RedisClient,
    readonly name: string,
    readonly token: number,
    leaseKey: string,
    owner: string,
    validUntil: number,
  ) {
    this.#redis = redis;
    this.#leaseKey = leaseKey;
    this.#owner = owner;
    this.#validUntil = validUntil;
  }

  get validUntil(): number {
    return this.#validUntil;
  }

  async extend(ttlMs: number): Promise<void> {
    positiveMs('ttlMs', ttlMs);
    const sentAt = Date.now();
    const extended = await extendScript.run(this.#redis, [this.#leaseKey], [this.#owner, ttlMs]);
    if (Number(extended) !== 1) throw new LockLostError(this.name, this.token);
    this.#validUntil = sentAt + ttlMs;
  }

  async release(): Promise<boolean> {
    this.#validUntil = 0;
    return Number(await releaseScript.run(this.#redis, [this.#leaseKey], [this.#owner])) === 1;
  }
}
