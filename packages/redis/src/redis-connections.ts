import type { Cluster } from 'ioredis';
import { createRedis } from './create-redis.js';
import type { RedisClient, RedisRole } from './redis-connection-options.js';
import { SharedSubscriber } from './shared-subscriber.js';

/**
 * What a connection does, as the metric counts it: `command` (requests and replies, shared by
 * every feature), `subscriber` (pub/sub, shared likewise) or `blocking` (a read that waits in
 * Redis: a job fetch, the job event streams).
 */
export type ConnectionKind = 'command' | 'subscriber' | 'blocking';

/** What every connection of a process shares. */
export interface RedisConnectionsOptions {
  /** The service, second part of every connection's name: `flotilla:<service>:<pid>:<purpose>`. */
  readonly service: string;
  /**
   * The Redis servers the process uses, by label (`{ queue, cache }`). Labels with the same URL
   * share their connections; the first label names the server in metrics.
   */
  readonly servers: Readonly<Record<string, string>>;
  /** How the shared command connections behave while Redis is down (see {@link RedisRole}). */
  readonly commandRole: Exclude<RedisRole, 'subscriber'>;
  readonly allowSelfSignedTls: boolean;
  readonly tlsCa: string | undefined;
  /** Told about connection errors (ioredis reconnects by itself; they are worth a log line). */
  readonly onError: (connectionName: string, error: Error) => void;
}

/** How many connections of one kind a process holds to one server right now. */
export interface ConnectionCount {
  /** The first label of the server (see {@link RedisConnectionsOptions.servers}). */
  readonly server: string;
  readonly kind: ConnectionKind;
  readonly open: number;
}

/** Just what counting needs of a client, so BullMQ's wrappers of its own duplicates fit too. */
interface Countable {
  readonly status: string;
  readonly isCluster?: boolean;
}

interface Held {
  readonly server: string;
  readonly kind: ConnectionKind;
  readonly client: Countable;
  /** Whether this process opened it, and so closes it. */
  readonly owned: boolean;
}

/**
 * The Redis connections of one process, held to a budget: one command connection and at most
 * one subscriber connection per server, shared by every feature, plus the blocking connections
 * a feature cannot share. Managed Redis plans cap connections (Heroku's mini plan: 20), so a
 * feature asks here instead of opening its own. Every connection is named for CLIENT LIST,
 * opened on first use, counted for the metrics and closed together at shutdown.
 */
export class RedisConnections {
  readonly #options: RedisConnectionsOptions;
  readonly #held: Held[] = [];
  readonly #commands = new Map<string, RedisClient>();
  readonly #subscribers = new Map<string, SharedSubscriber>();

  constructor(options: RedisConnectionsOptions) {
    if (Object.keys(options.servers).length === 0) throw new TypeError('RedisConnections needs at least one server');
    this.#options = options;
  }

  /** The command connection to a server, shared by every feature of the process. */
  command(server: string): RedisClient {
    const label = this.#label(server);
    let client = this.#commands.get(label);
    if (!client) {
      client = this.#open(label, 'command', this.#options.commandRole, 'command');
      this.#commands.set(label, client);
    }
    return client;
  }

  /** The pub/sub connection to a server, shared by every feature of the process. */
  subscriber(server: string): SharedSubscriber {
    const label = this.#label(server);
    let subscriber = this.#subscribers.get(label);
    if (!subscriber) {
      subscriber = new SharedSubscriber(this.#open(label, 'subscriber', 'subscriber', 'subscriber'));
      this.#subscribers.set(label, subscriber);
    }
    return subscriber;
  }

  /**
   * A connection of its own for one purpose that cannot share: a blocking read (role
   * `consumer`, kind `blocking`), or commands that must not wait behind others' (the command
   * role, kind `command`). Each call opens one more; spend them sparingly.
   */
  dedicated(server: string, purpose: string, kind: Exclude<ConnectionKind, 'subscriber'>): RedisClient {
    return this.#open(this.#label(server), purpose, kind === 'blocking' ? 'consumer' : this.#options.commandRole, kind);
  }

  /** Counts a connection a library opened and closes itself (BullMQ's blocking duplicates). */
  track(server: string, kind: ConnectionKind, client: Countable): void {
    this.#held.push({ server: this.#label(server), kind, client, owned: false });
  }

  /** Connected sockets by server and kind, for `flotilla_redis_connections`. */
  census(): ConnectionCount[] {
    const counts = new Map<string, ConnectionCount>();
    for (const { server, kind, client } of this.#held) {
      const key = `${server}\0${kind}`;
      const open = (counts.get(key)?.open ?? 0) + connectedSockets(client);
      counts.set(key, { server, kind, open });
    }
    return [...counts.values()];
  }

  /** Closes every connection opened here: politely, or at once when Redis does not answer. */
  async closeAll(): Promise<void> {
    const owned = this.#held.filter((held) => held.owned).map((held) => held.client as RedisClient);
    this.#held.length = 0;
    this.#commands.clear();
    this.#subscribers.clear();
    await Promise.all(owned.map((c) => c.quit().catch(() => c.disconnect())));
  }

  #open(server: string, purpose: string, role: RedisRole, kind: ConnectionKind): RedisClient {
    const { service, allowSelfSignedTls, tlsCa, onError } = this.#options;
    // The main server's connections go without its label, so the usual names stay short.
    const name = `flotilla:${service}:${process.pid}:${server === this.#mainLabel() ? '' : `${server}-`}${purpose}`;
    const client = createRedis({
      url: this.#options.servers[server] as string,
      role,
      connectionName: name,
      allowSelfSignedTls,
      ...(tlsCa ? { tlsCa } : {}),
    });
    client.on('error', (error: Error) => onError(name, error));
    this.#held.push({ server, kind, client, owned: true });
    return client;
  }

  // The first label with the same URL as `server`, so that labels sharing a server share connections.
  #label(server: string): string {
    const url = this.#options.servers[server];
    if (url === undefined) throw new TypeError(`RedisConnections has no server labelled "${server}"`);
    return Object.keys(this.#options.servers).find((label) => this.#options.servers[label] === url) as string;
  }

  #mainLabel(): string {
    return Object.keys(this.#options.servers)[0] as string;
  }
}

const CONNECTED = new Set(['connect', 'ready']);

// A Cluster client holds a socket per node it talks to.
function connectedSockets(client: Countable): number {
  if (client.isCluster) return (client as Cluster).nodes('all').filter((node) => CONNECTED.has(node.status)).length;
  return CONNECTED.has(client.status) ? 1 : 0;
}
