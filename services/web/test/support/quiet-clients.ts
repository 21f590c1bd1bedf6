import { createRedis, type RedisClient } from '@flotilla/redis';

/**
 * Redis clients for a fault test's own look at its servers. They stay quiet while the test kills
 * those servers (an 'error' listener), and `disconnectAll` drops every one in afterAll.
 */
export class QuietClients {
  readonly #clients: RedisClient[] = [];

  open(url: string): RedisClient {
    const c = createRedis({ url, role: 'consumer' });
    c.on('error', () => undefined);
    this.#clients.push(c);
    return c;
  }

  disconnectAll(): void {
    for (const c of this.#clients.splice(0)) c.disconnect();
  }
}
