export { Cache } from './cache.js';
export { jsonCodec, type CacheCodec } from './codec.js';
export { readCacheStats, listCacheNames } from './fleet-stats.js';
export type {
  CacheOptions,
  CacheEntryInput,
  L1Options,
  SetOptions,
  Freshness,
  CacheHit,
  ComputedValue,
  WrapOptions,
  WrapResult,
  CacheStatsSnapshot,
  CacheEvent,
  CacheStatsPoint,
} from './types.js';
