import { createRedis } from './create-redis.js';
import type { RedisClient, RedisRole } from './redis-connection-options.js';

/** What every connection of a process shares. */
export interface RedisConnectionsOptions {
  readonly allowSelfSignedTls: boolean;
  readonly tlsCa: string | undefined;
  /** Told about connection errors (ioredis reconnects by itself; they are worth a log line). */
  readonly onError: (connectionName: string, error: Error) => void;
}

/**
 * The Redis connections one process opens, so that they are opened alike (TLS settings, error
 * reporting) and closed together at shutdown by whoever opened them.
 */
export class RedisConnections {
  private readonly clients: RedisClient[] = [];

  constructor(private readonly options: RedisConnectionsOptions) {}

  /** Opens a connection named for CLIENT LIST, e.g. `flotilla:web:queue`. */
  open(url: string, role: RedisRole, name: string): RedisClient {
    const { allowSelfSignedTls, tlsCa, onError } = this.options;
    const client = createRedis({ url, role, connectionName: name, allowSelfSignedTls, ...(tlsCa ? { tlsCa } : {}) });
    client.on('error', (error: Error) => onError(name, error));
    this.clients.push(client);
    return client;
  }

  /** Closes every connection opened here: politely, or at once when Redis does not answer. */
  async closeAll(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
  }
}
