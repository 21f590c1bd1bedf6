import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { SharedSubscriber, createRedis, waitForReady, type RedisClient } from '@flotilla/redis';
import { waitFor } from '@flotilla/testkit';
import type { Redis } from 'ioredis';
import { inject } from 'vitest';
import { Cache, type CacheOptions } from '../src/index.js';

/** A cache instance as another process would hold it: its own command and pub/sub connections. */
export interface Instance<T> {
  readonly cache: Cache<T>;
  readonly redis: RedisClient;
  /** The process's pub/sub connection, and the same wrapped for sharing. */
  readonly subscriber: RedisClient;
  readonly shared: SharedSubscriber;
  readonly subscriberName: string;
}

/**
 * Opens connections and caches for one test on the run's private Redis, all under a key prefix
 * of its own, and closes everything at the end.
 */
export class Harness {
  readonly prefix = `t-${randomBytes(6).toString('hex')}:`;
  readonly name = 'pages';
  readonly #clients: RedisClient[] = [];
  readonly #caches: { close(): Promise<void> }[] = [];

  /** A ready command connection. */
  async client(): Promise<RedisClient> {
    const client = this.#track(createRedis({ url: inject('redisUrl'), role: 'producer' }));
    await waitForReady(client, 5000);
    return client;
  }

  /** A pub/sub connection of its own, like one process of the fleet holds. */
  subscriber(): Pick<Instance<unknown>, 'subscriber' | 'shared' | 'subscriberName'> {
    const subscriberName = `cache-test-sub-${randomBytes(6).toString('hex')}`;
    const subscriber = this.#track(
      createRedis({ url: inject('redisUrl'), role: 'subscriber', connectionName: subscriberName }),
    );
    return { subscriber, shared: new SharedSubscriber(subscriber), subscriberName };
  }

  /**
   * A cache with its own connections, like one process of the fleet; `process` gives it those
   * of an instance made before, as a second cache of the same process.
   */
  async instance<T = unknown>(
    options: Partial<CacheOptions<T>> = {},
    process?: Pick<Instance<unknown>, 'redis' | 'subscriber' | 'shared' | 'subscriberName'>,
  ): Promise<Instance<T>> {
    const redis = process?.redis ?? options.redis ?? (await this.client());
    const connections = process ?? this.subscriber();
    const cache = await Cache.create<T>({
      name: this.name,
      prefix: this.prefix,
      ackTimeoutMs: 20_000,
      ...options,
      redis,
      subscriber: connections.shared,
    });
    this.#caches.push(cache);
    return { cache, redis, ...connections, shared: connections.shared };
  }

  /** The Redis key of one entry (the layout is the cache's business; tests only peek). */
  entryKey(key: string): string {
    return `${this.prefix}{${this.name}}:k:${key}`;
  }

  /** Closes every cache, then every connection. */
  async closeAll(): Promise<void> {
    await Promise.all(this.#caches.splice(0).map((cache) => cache.close()));
    for (const client of this.#clients.splice(0)) client.disconnect();
  }

  #track(client: RedisClient): RedisClient {
    // Tests break connections on purpose; without a listener ioredis prints each error.
    (client as EventEmitter).on('error', () => {});
    this.#clients.push(client);
    return client;
  }
}

/** What one connection sent, as seen by MONITOR: top-level commands and those its scripts ran. */
export interface Recorded {
  readonly commands: string[][];
  readonly scriptCommands: string[][];
}

/**
 * Records what `client` sends to Redis while `action` runs, using MONITOR on a connection of
 * its own. Start and end are marked with PINGs from `client`, so commands of other tests
 * sharing the server are left out; script-internal commands are kept when they touch `prefix`.
 */
export async function recordCommands(
  harness: Harness,
  client: RedisClient,
  prefix: string,
  action: () => Promise<unknown>,
): Promise<Recorded> {
  const info = String(await client.client('INFO'));
  const addr = /\baddr=(\S+)/.exec(info)?.[1];
  if (!addr) throw new Error(`no addr in CLIENT INFO: ${info}`);
  const admin = (await harness.client()) as Redis;
  const monitor = await admin.monitor();
  const seen: { source: string; args: string[] }[] = [];
  (monitor as EventEmitter).on('monitor', (_time: string, args: string[], source: string) =>
    seen.push({ source, args }),
  );
  const marker = async (text: string): Promise<number> => {
    await client.ping(text);
    return await waitFor(
      () => seen.findIndex((c) => c.source === addr && c.args[0]?.toLowerCase() === 'ping' && c.args[1] === text) + 1,
      {
        description: `MONITOR to show ${text}`,
      },
    );
  };
  try {
    const id = randomBytes(4).toString('hex');
    const start = await marker(`start-${id}`);
    await action();
    const end = await marker(`end-${id}`);
    const window = seen.slice(start, end - 1);
    return {
      commands: window.filter((c) => c.source === addr).map((c) => c.args),
      scriptCommands: window
        .filter((c) => c.source === 'lua' && c.args.slice(1).some((arg) => arg.startsWith(prefix)))
        .map((c) => c.args),
    };
  } finally {
    monitor.disconnect();
  }
}

/** A promise with its resolve function, to hold a computation until the test lets it go. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
