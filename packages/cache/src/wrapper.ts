import { randomBytes } from 'node:crypto';
import type { CacheStats } from './cache-stats.js';
import type { InvalidationBus } from './invalidation-bus.js';
import type { RedisTier } from './redis-tier.js';
import { SingleFlight } from './single-flight.js';
import type { CacheHit, ComputedValue, WrapOptions, WrapResult } from './types.js';
import { checkKey, checkWrapOptions, resolveSetOptions, type ResolvedSetOptions } from './validate.js';

/** What {@link Wrapper} needs from its cache. */
export interface WrapHost<T> {
  readonly tier: RedisTier;
  readonly bus: InvalidationBus;
  readonly stats: CacheStats;
  readonly defaultTtlMs: number;
  /** The cache's key group count, which a fence must match. */
  readonly groups: number;
  /** L1 lookup, counted. */
  peek(key: string): CacheHit<T> | undefined;
  /** L1 then Redis, counted. */
  get(key: string): Promise<CacheHit<T> | undefined>;
  /** L1 then Redis, not counted: a re-check while waiting for another process. */
  read(key: string): Promise<CacheHit<T> | undefined>;
  /** Writes a computed value unless a tag moved past `expected`. */
  store(
    key: string,
    value: T,
    set: ResolvedSetOptions,
    expected: readonly string[] | undefined,
  ): Promise<ComputedValue<T>>;
}

const DEFAULT_LOCK_TTL_MS = 10_000;
const DEFAULT_LOCK_WAIT_MS = 5000;
const DEFAULT_REFRESH_WINDOW_MS = 10_000;
// Past this many remembered refresh claims the expired ones are swept.
const REFRESH_MEMORY = 10_000;

/**
 * Read-through for {@link Cache.wrap}: single-flight per process and, on request, across the
 * fleet; stale-while-revalidate with one refresh per stored version and window fleet-wide.
 * The fleet lock is written by hand because a waiter must learn of the holder's value from the
 * invalidation channel it already listens to, instead of polling Redis.
 */
export class Wrapper<T> {
  readonly #host: WrapHost<T>;
  readonly #flights = new SingleFlight<WrapResult<T>>();
  // Refresh claims this process made or saw lost, and until when they hold.
  readonly #refreshUntil = new Map<string, number>();

  constructor(host: WrapHost<T>) {
    this.#host = host;
  }

  /** See {@link Cache.wrap}. */
  async wrap(key: string, compute: () => Promise<T>, options: WrapOptions | undefined): Promise<WrapResult<T>> {
    checkKey(key);
    if (typeof compute !== 'function') throw new TypeError('cache wrap needs a compute function');
    checkWrapOptions(options);
    const set = resolveSetOptions(options, this.#host.defaultTtlMs, this.#host.groups);
    const local = this.#host.peek(key);
    if (local) return this.#served(key, local, compute, set, options);
    return await this.#flights.run(key, async () => {
      const hit = await this.#host.get(key);
      if (hit) return this.#served(key, hit, compute, set, options);
      return options?.fleetSingleFlight
        ? await this.#loadOnce(key, compute, set, options)
        : await this.#compute(key, compute, set);
    });
  }

  /** See {@link Cache.revalidate}. */
  revalidate(key: string, hit: CacheHit<T>, compute: () => Promise<T>, options: WrapOptions | undefined): void {
    checkKey(key);
    if (typeof compute !== 'function') throw new TypeError('cache revalidate needs a compute function');
    checkWrapOptions(options);
    if (hit.freshness === 'stale')
      this.#served(key, hit, compute, resolveSetOptions(options, this.#host.defaultTtlMs, this.#host.groups), options);
  }

  #served(
    key: string,
    hit: CacheHit<T>,
    compute: () => Promise<T>,
    set: ResolvedSetOptions,
    options: WrapOptions | undefined,
  ): CacheHit<T> {
    if (hit.freshness === 'stale') this.#refresh(key, hit.storedAt, compute, set, options);
    return hit;
  }

  // Starts a background refresh unless this process or another already claimed this version.
  #refresh(
    key: string,
    storedAt: number,
    compute: () => Promise<T>,
    set: ResolvedSetOptions,
    options: WrapOptions | undefined,
  ): void {
    const claim = `${storedAt}:${key}`;
    const now = Date.now();
    if ((this.#refreshUntil.get(claim) ?? 0) > now) return;
    const windowMs = options?.refreshWindowMs ?? DEFAULT_REFRESH_WINDOW_MS;
    if (this.#refreshUntil.size >= REFRESH_MEMORY) {
      for (const [name, until] of this.#refreshUntil) if (until <= now) this.#refreshUntil.delete(name);
    }
    this.#refreshUntil.set(claim, now + windowMs);
    const { tier, stats } = this.#host;
    const onStale = options?.onStale;
    void (async () => {
      try {
        if (!(await tier.claimRefresh(key, storedAt, windowMs))) return;
        stats.refresh();
        if (onStale) await onStale(key);
        else await this.#flights.run(key, () => this.#compute(key, compute, set));
      } catch {
        stats.refreshError();
      }
    })();
  }

  // One process of the fleet computes; the others wait for its value on the invalidation
  // channel, and compute themselves if it does not come within lockWaitMs.
  async #loadOnce(
    key: string,
    compute: () => Promise<T>,
    set: ResolvedSetOptions,
    options: WrapOptions,
  ): Promise<WrapResult<T>> {
    const { tier, bus, stats } = this.#host;
    const token = randomBytes(12).toString('hex');
    const lockTtlMs = options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
    const deadline = Date.now() + (options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS);
    let waited = false;
    for (;;) {
      // Watching before trying the lock: a value published in between is not missed.
      const watch = bus.watch(key, Math.max(0, deadline - Date.now()));
      let locked: boolean;
      try {
        locked = await tier.tryLock(key, token, lockTtlMs);
      } catch (error) {
        watch.cancel();
        throw error;
      }
      if (locked) {
        watch.cancel();
        try {
          return await this.#compute(key, compute, set);
        } finally {
          await tier.unlock(key, token, bus.unlockMessage(key)).catch(() => {});
        }
      }
      if (!waited) stats.fleetWait();
      waited = true;
      const early = await this.#host.read(key);
      if (early) {
        watch.cancel();
        return early;
      }
      // Without a live subscription no message will come; waiting would only delay.
      if (!bus.up || !(await watch.fired)) {
        watch.cancel();
        return await this.#compute(key, compute, set);
      }
      const hit = await this.#host.read(key);
      if (hit) return hit;
      if (Date.now() >= deadline) return await this.#compute(key, compute, set);
    }
  }

  async #compute(key: string, compute: () => Promise<T>, set: ResolvedSetOptions): Promise<ComputedValue<T>> {
    // Tag generations taken before computing: if a tag moves on meanwhile, the value may be
    // outdated already and is not stored.
    const expected = set.tags.length
      ? await this.#host.tier.snapshotTags(key, set.tags, set.ttlMs + set.staleMs)
      : undefined;
    const value = await compute();
    try {
      return await this.#host.store(key, value, set, expected);
    } catch (error) {
      if (error instanceof TypeError) throw error;
      const storedAt = Date.now();
      return {
        value,
        freshness: 'computed',
        storedAt,
        expiresAt: storedAt + set.ttlMs,
        staleUntil: storedAt + set.ttlMs + set.staleMs,
        cached: false,
      };
    }
  }
}
