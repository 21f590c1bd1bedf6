export { createRedis } from './create-redis.js';
export { isEvictingPolicy, readEvictionPolicy } from './eviction-policy.js';
export { parseRedisUrl } from './parse-redis-url.js';
export { redactRedisUrl } from './redact-redis-url.js';
export type { RedisClient, RedisConnectionOptions, RedisRole } from './redis-connection-options.js';
export { RedisNotReadyError } from './redis-not-ready-error.js';
export type {
  ClusterRedisTarget,
  RedisNode,
  RedisTarget,
  SentinelRedisTarget,
  StandaloneRedisTarget,
} from './redis-target.js';
export { RedisUrlError } from './redis-url-error.js';
export { waitForReady } from './wait-for-ready.js';
export { isReachable, isRedisUnavailableError } from './redis-availability.js';
export {
  RedisConnections,
  type ConnectionCount,
  type ConnectionKind,
  type RedisConnectionsOptions,
} from './redis-connections.js';
export { SharedSubscriber, type Subscription, type SubscriptionHandlers } from './shared-subscriber.js';
export { LuaScript, type ScriptArgument } from './lua-script.js';
export { runScripts, type ScriptCall } from './run-scripts.js';
export { spreadHashTags, spreadIndexOf } from './spread-hash-tags.js';
export { RedisEpoch, type RedisEpochState } from './redis-epoch.js';
export { AofDurability, type AofDurabilityMode } from './aof-durability.js';
export { WriteNotDurableError } from './write-not-durable-error.js';
export { RedisMemoryGauge } from './redis-memory-gauge.js';
