import { startRedisServer } from '@flotilla/local-redis';
import { createRedis } from '@flotilla/redis';

/** A private redis-server for one benchmark run. */
export interface BenchRedis {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Deletes every key, so the next variant starts from the same empty Redis as the last. */
  flush(): Promise<void>;
  /** CPU seconds (user + system) the server has used so far, as it reports them. */
  cpuSeconds(): Promise<number>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

// Ctrl-C ends Node without running its 'exit' hooks, and redis-server runs in its own process
// group, so without this it would outlive an interrupted benchmark. Exiting runs the hooks that
// local-redis and testkit install to kill what they started.
const exitOnInterrupt = (): void => process.exit(130);

/**
 * Starts a redis-server on a free loopback port that nothing else uses, so the figures are
 * not disturbed by (and do not disturb) any other Redis on the machine. The caller must
 * `stop()` it.
 */
export async function startBenchRedis(): Promise<BenchRedis> {
  const server = await startRedisServer();
  process.once('SIGINT', exitOnInterrupt);
  return {
    host: server.host,
    port: server.port,
    url: server.url,
    async flush() {
      const client = createRedis({ url: server.url, role: 'consumer', connectionName: 'flotilla:bench:flush' });
      try {
        await client.flushall();
      } finally {
        await client.quit();
      }
    },
    async cpuSeconds() {
      const client = createRedis({ url: server.url, role: 'consumer', connectionName: 'flotilla:bench:info' });
      try {
        const info = await client.info('cpu');
        const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
        return field('used_cpu_user') + field('used_cpu_sys');
      } finally {
        await client.quit();
      }
    },
    async stop() {
      process.off('SIGINT', exitOnInterrupt);
      await server.stop();
    },
  };
}
