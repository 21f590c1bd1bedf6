import type { ConnectionCount, RedisClient, RedisEpoch } from '@flotilla/redis';
import { Gauge, type Registry } from 'prom-client';

const PING_TIMEOUT_MS = 1000;

/** `flotilla_redis_up{redis}`: 1 when the Redis a connection points at answered a PING at scrape time. */
export function registerRedisUp(registry: Registry, connections: Readonly<Record<string, RedisClient>>): void {
  new Gauge({
    name: 'flotilla_redis_up',
    help: 'Whether Redis answered a PING within a second when scraped (1) or not (0), per role (queue, cache)',
    labelNames: ['redis'],
    registers: [registry],
    async collect() {
      await Promise.all(
        Object.entries(connections).map(async ([name, client]) =>
          this.set({ redis: name }, (await answers(client)) ? 1 : 0),
        ),
      );
    },
  });
}

async function answers(client: RedisClient): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS)));
  try {
    return await Promise.race([
      client.ping().then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `flotilla_redis_epoch_intact{redis}`: 0 once Redis has been found without the epoch this
 * process started with (flushed, or restarted without its data), else 1. An outage alone
 * leaves it at 1: `flotilla_redis_up` reports that.
 */
export function registerRedisEpoch(registry: Registry, epochs: Readonly<Record<string, RedisEpoch>>): void {
  new Gauge({
    name: 'flotilla_redis_epoch_intact',
    help: 'Whether Redis still holds the epoch key this process started with (1) or lost its data since (0), per role',
    labelNames: ['redis'],
    registers: [registry],
    async collect() {
      await Promise.all(
        Object.entries(epochs).map(async ([name, epoch]) =>
          this.set({ redis: name }, (await epoch.check()) === 'lost' ? 0 : 1),
        ),
      );
    },
  });
}

/**
 * `flotilla_redis_connections{redis, role}`: the Redis connections this process holds now, by
 * server and by role (command, subscriber, blocking), to set against the plan's connection limit.
 */
export function registerRedisConnections(registry: Registry, census: () => readonly ConnectionCount[]): void {
  new Gauge({
    name: 'flotilla_redis_connections',
    help: 'Redis connections this process holds, per server (queue, cache) and role (command, subscriber, blocking)',
    labelNames: ['redis', 'role'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { server, kind, open } of census()) this.set({ redis: server, role: kind }, open);
    },
  });
}
