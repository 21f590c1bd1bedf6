import { SharedSubscriber } from '@flotilla/redis';
import { jsonCodec, type CacheCodec } from './codec.js';
import type { CacheOptions, L1Options, SetOptions, WrapOptions } from './types.js';

/** {@link CacheOptions} checked, with every default applied, frozen. */
export interface ResolvedCacheOptions<T> extends Omit<Required<CacheOptions<T>>, 'l1'> {
  readonly l1: L1Options | false;
}

/** {@link SetOptions} checked, with defaults applied. */
export interface ResolvedSetOptions {
  readonly ttlMs: number;
  readonly staleMs: number;
  readonly tags: readonly string[];
  readonly fence: string | undefined;
}

const DEFAULT_L1: L1Options = Object.freeze({ maxEntries: 10_000, maxBytes: 64 * 1024 * 1024 });
const DEFAULT_TTL_MS = 60_000;
const DEFAULT_ACK_TIMEOUT_MS = 1000;
const DEFAULT_STATS_FLUSH_MS = 5000;
// Redis PX takes a signed 64-bit integer, but a Date past this is not representable anyway.
const MAX_MS = 100 * 365 * 24 * 60 * 60 * 1000;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined)
    return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

function checkMs(value: unknown, what: string, allowZero: boolean): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (!allowZero && value === 0) ||
    value > MAX_MS
  ) {
    throw new TypeError(
      `${what} must be a ${allowZero ? 'non-negative' : 'positive'} finite number of milliseconds, got ${describe(value)}`,
    );
  }
  return value;
}

function checkPositiveInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`${what} must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

/** Checks the options of {@link Cache.create} and fills in defaults. */
export function resolveCacheOptions<T>(options: CacheOptions<T>): ResolvedCacheOptions<T> {
  if (typeof options !== 'object' || options === null) throw new TypeError('Cache options must be an object');
  const { name, prefix, redis, subscriber } = options;
  if (typeof name !== 'string' || name === '' || /[{}]/.test(name)) {
    throw new TypeError(`Cache name must be a non-empty string without { or }, got ${describe(name)}`);
  }
  if (typeof prefix !== 'string') throw new TypeError(`Cache prefix must be a string, got ${describe(prefix)}`);
  if (typeof redis !== 'object' || redis === null) throw new TypeError('Cache redis must be a Redis connection');
  if (!(subscriber instanceof SharedSubscriber))
    throw new TypeError("Cache subscriber must be a SharedSubscriber (the process's pub/sub connection)");
  const l1 = options.l1 === undefined ? DEFAULT_L1 : options.l1;
  if (l1 !== false) {
    if (typeof l1 !== 'object' || l1 === null)
      throw new TypeError(`Cache l1 must be { maxEntries, maxBytes } or false, got ${describe(l1)}`);
    checkPositiveInteger(l1.maxEntries, 'Cache l1.maxEntries');
    checkPositiveInteger(l1.maxBytes, 'Cache l1.maxBytes');
  }
  const groups = checkPositiveInteger(options.groups ?? 1, 'Cache groups');
  // A hash tag in the prefix would be the tag of every key, and the groups one slot after all.
  if (groups > 1 && /[{}]/.test(prefix))
    throw new TypeError(`Cache prefix must not contain { or } when groups > 1, got ${describe(prefix)}`);
  const codec = (options.codec ?? jsonCodec) as CacheCodec<T>;
  if (typeof codec.encode !== 'function' || typeof codec.decode !== 'function') {
    throw new TypeError('Cache codec must have encode and decode functions');
  }
  return Object.freeze({
    name,
    prefix,
    redis,
    subscriber,
    l1: l1 === false ? false : Object.freeze({ maxEntries: l1.maxEntries, maxBytes: l1.maxBytes }),
    codec,
    defaultTtlMs: checkMs(options.defaultTtlMs ?? DEFAULT_TTL_MS, 'Cache defaultTtlMs', false),
    ackTimeoutMs: checkMs(options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS, 'Cache ackTimeoutMs', true),
    statsFlushMs: checkMs(options.statsFlushMs ?? DEFAULT_STATS_FLUSH_MS, 'Cache statsFlushMs', false),
    groups,
  });
}

/** Checks one cache key. */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key === '')
    throw new TypeError(`cache key must be a non-empty string, got ${describe(key)}`);
}

/** Checks a list of cache keys. */
export function checkKeys(keys: unknown): asserts keys is readonly string[] {
  if (!Array.isArray(keys)) throw new TypeError(`cache keys must be an array of strings, got ${describe(keys)}`);
  for (const key of keys) checkKey(key);
}

/** Checks a list of tags. */
export function checkTags(tags: unknown): asserts tags is readonly string[] {
  if (!Array.isArray(tags)) throw new TypeError(`cache tags must be an array of strings, got ${describe(tags)}`);
  for (const tag of tags) {
    if (typeof tag !== 'string' || tag === '')
      throw new TypeError(`cache tags must be non-empty strings, got ${describe(tag)}`);
  }
}

/** Checks {@link SetOptions} (a fence must come from a cache of `groups` key groups) and fills in defaults. */
export function resolveSetOptions(
  options: SetOptions | undefined,
  defaultTtlMs: number,
  groups: number,
): ResolvedSetOptions {
  if (options === undefined) return { ttlMs: defaultTtlMs, staleMs: 0, tags: [], fence: undefined };
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`cache set options must be an object, got ${describe(options)}`);
  const tags = options.tags ?? [];
  checkTags(tags);
  return {
    ttlMs: checkMs(options.ttlMs ?? defaultTtlMs, 'cache ttlMs', false),
    staleMs: checkMs(options.staleMs ?? 0, 'cache staleMs', true),
    tags: [...new Set(tags)],
    fence: checkFence(options.fence, groups),
  };
}

// A fence is Redis's clock in microseconds, as Cache.fence returns it: one reading per key group.
function checkFence(fence: unknown, groups: number): string | undefined {
  if (fence === undefined) return undefined;
  if (typeof fence !== 'string' || !/^\d{1,16}(,\d{1,16})*$/.test(fence) || fence.split(',').length !== groups)
    throw new TypeError(`cache fence must be a value from this cache's fence(), got ${describe(fence)}`);
  return fence;
}

/** Checks the wrap-only fields of {@link WrapOptions}. */
export function checkWrapOptions(options: WrapOptions | undefined): void {
  if (options === undefined) return;
  if (options.onStale !== undefined && typeof options.onStale !== 'function') {
    throw new TypeError(`cache onStale must be a function, got ${describe(options.onStale)}`);
  }
  if (options.lockTtlMs !== undefined) checkMs(options.lockTtlMs, 'cache lockTtlMs', false);
  if (options.lockWaitMs !== undefined) checkMs(options.lockWaitMs, 'cache lockWaitMs', true);
  if (options.refreshWindowMs !== undefined) checkMs(options.refreshWindowMs, 'cache refreshWindowMs', false);
}

/** Encodes a value, turning a codec failure into a TypeError naming the key. */
export function encodeValue<T>(codec: CacheCodec<T>, key: string, value: T): Buffer | string {
  let encoded: unknown;
  try {
    encoded = codec.encode(value);
  } catch (error) {
    throw new TypeError(
      `cache value for key ${JSON.stringify(key)} cannot be encoded: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  if (typeof encoded !== 'string' && !Buffer.isBuffer(encoded)) {
    throw new TypeError(
      `cache codec must encode to a string or Buffer, got ${describe(encoded)} for key ${JSON.stringify(key)}`,
    );
  }
  return encoded;
}
