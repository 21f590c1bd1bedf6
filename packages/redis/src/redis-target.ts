/** One `host:port` address taken from a Redis URL. */
export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/** Credentials and transport shared by every kind of Redis target. */
interface RedisTargetBase {
  /** True for the `rediss` schemes: data connections use TLS. */
  readonly tls: boolean;
  readonly username?: string;
  readonly password?: string;
}

/** A single Redis server (`redis://`, `rediss://`). */
export interface StandaloneRedisTarget extends RedisTargetBase {
  readonly kind: 'standalone';
  readonly node: RedisNode;
  readonly db: number;
}

/** A master found through Redis Sentinel (`redis+sentinel://`, `rediss+sentinel://`). */
export interface SentinelRedisTarget extends RedisTargetBase {
  readonly kind: 'sentinel';
  readonly sentinels: readonly RedisNode[];
  readonly masterName: string;
  readonly db: number;
  readonly sentinelUsername?: string;
  readonly sentinelPassword?: string;
}

/** A Redis Cluster reached through one or more seed nodes (`redis+cluster://`, `rediss+cluster://`). */
export interface ClusterRedisTarget extends RedisTargetBase {
  readonly kind: 'cluster';
  readonly nodes: readonly RedisNode[];
}

/** Where and how to connect, as described by a Redis URL. */
export type RedisTarget = StandaloneRedisTarget | SentinelRedisTarget | ClusterRedisTarget;
