import type { Cluster, Redis } from 'ioredis';

/**
 * What a connection is for; it decides how the connection behaves while Redis is down.
 * - `producer`: enqueues and reads on behalf of an HTTP request, so it fails fast.
 * - `consumer`: a BullMQ Worker or QueueEvents connection, so it waits and reconnects.
 * - `subscriber`: a pub/sub connection, so it waits, reconnects and resubscribes.
 */
export type RedisRole = 'producer' | 'consumer' | 'subscriber';

/** Everything {@link createRedis} needs to build one connection. */
export interface RedisConnectionOptions {
  /** `redis://`, `rediss://`, `redis+sentinel://`, `rediss+sentinel://`, `redis+cluster://` or `rediss+cluster://`. */
  readonly url: string;
  readonly role: RedisRole;
  /** Sent as CLIENT SETNAME so CLIENT LIST shows who holds the connection, e.g. `flotilla:web:queue`. */
  readonly connectionName?: string | undefined;
  /**
   * Accept any server certificate on this connection (encryption without authentication),
   * for managed Redis such as Heroku's that presents a self-signed certificate. Only this
   * connection is affected; process-wide settings are never touched. Ignored for non-TLS URLs.
   */
  readonly allowSelfSignedTls?: boolean | undefined;
  /** PEM CA certificate(s) to verify the server against: the secure alternative to `allowSelfSignedTls`. */
  readonly tlsCa?: string | undefined;
  /** Per-command timeout; the producer defaults to 5000 ms, the other roles to none. */
  readonly commandTimeoutMs?: number | undefined;
}

/** A connection built by {@link createRedis}: a Cluster for cluster URLs, otherwise a Redis. */
export type RedisClient = Redis | Cluster;
