import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis } from 'ioredis';
import { parseRedisUrl } from './parse-redis-url.js';
import type { RedisClient, RedisConnectionOptions } from './redis-connection-options.js';
import { roleSettings } from './role-settings.js';

/**
 * Creates a Redis connection: the one place in Flotilla where a Redis client is built, so
 * every connection gets the same URL syntax, TLS handling and role-specific behaviour while
 * Redis is down (see {@link RedisRole}). The caller owns the client and must `quit()` it.
 * It starts connecting at once; a producer rejects commands until it is ready, so await
 * {@link waitForReady} at boot.
 */
export function createRedis(options: RedisConnectionOptions): RedisClient {
  const settings = roleSettings(options);
  const target = parseRedisUrl(options.url);
  const tls = target.tls ? tlsOptions(options) : undefined;
  const credentials = {
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
  };
  switch (target.kind) {
    case 'standalone':
      return new Redis({
        ...settings.nodeOptions,
        ...credentials,
        host: target.node.host,
        port: target.node.port,
        db: target.db,
        enableOfflineQueue: settings.enableOfflineQueue,
        retryStrategy: settings.retryStrategy,
        ...(tls ? { tls } : {}),
      });
    case 'sentinel':
      return new Redis({
        ...settings.nodeOptions,
        ...credentials,
        sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
        name: target.masterName,
        db: target.db,
        enableOfflineQueue: settings.enableOfflineQueue,
        retryStrategy: settings.retryStrategy,
        ...(target.sentinelUsername !== undefined ? { sentinelUsername: target.sentinelUsername } : {}),
        ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
        // A deployment that encrypts Redis encrypts its Sentinels too, and the Sentinel link
        // carries the sentinel password, so rediss+sentinel means TLS on both.
        ...(tls ? { tls, enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
      });
    case 'cluster':
      return new Cluster(
        target.nodes.map(({ host, port }) => ({ host, port })),
        {
          enableOfflineQueue: settings.enableOfflineQueue,
          enableReadyCheck: true,
          clusterRetryStrategy: settings.retryStrategy,
          redisOptions: { ...settings.nodeOptions, ...credentials, ...(tls ? { tls } : {}) },
        },
      );
  }
}

function tlsOptions(options: RedisConnectionOptions): ConnectionOptions {
  if (options.allowSelfSignedTls && options.tlsCa !== undefined) {
    throw new TypeError(
      'Redis allowSelfSignedTls and tlsCa exclude each other: tlsCa verifies the server, allowSelfSignedTls skips verification',
    );
  }
  if (options.tlsCa !== undefined) return { ca: options.tlsCa };
  // Scoped to this socket: unlike NODE_TLS_REJECT_UNAUTHORIZED it weakens no other connection.
  if (options.allowSelfSignedTls) return { rejectUnauthorized: false };
  return {};
}
