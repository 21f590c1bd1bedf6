export {
  startRedisServer,
  findRedisServer,
  freePort,
  RedisServerMissingError,
  type RedisServer,
  type RedisServerOptions,
} from './redis-server.js';
export { findExecutable } from './find-executable.js';
