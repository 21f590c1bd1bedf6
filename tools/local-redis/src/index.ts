export {
  startRedisServer,
  findRedisServer,
  freePort,
  RedisServerMissingError,
  type RedisServer,
  type RedisServerOptions,
} from './redis-server.js';
export { findExecutable } from './find-executable.js';
export { startRedisSentinel, type RedisSentinel, type RedisSentinelOptions } from './redis-sentinel.js';
