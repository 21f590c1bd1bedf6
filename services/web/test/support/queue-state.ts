import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { catalog } from '@flotilla/jobs';
import { isolatedServiceEnv, spawnWeb, type ServiceHandle } from '@flotilla/testkit';
import { expect } from 'vitest';

/** Every key under a queue prefix and every job count per queue: what a rejected request must leave as it was. */
export interface QueueState {
  readonly keys: readonly string[];
  readonly jobs: readonly number[];
}

/** Reads the catalog's queues under one test's prefix (no worker may run on it, or the state moves by itself). */
export class QueueStateReader {
  private readonly redis: Redis;
  private readonly queues: Queue[];

  constructor(
    redisUrl: string,
    private readonly prefix: string,
  ) {
    this.redis = new Redis(redisUrl);
    this.queues = catalog.queues.map((q) => new Queue(q.name, { connection: this.redis, prefix }));
  }

  /** The keys and the job totals, whatever the jobs' states. */
  async read(): Promise<QueueState> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const counts = await Promise.all(this.queues.map((q) => q.getJobCounts()));
    return { keys: keys.sort(), jobs: counts.map((c) => Object.values(c).reduce((sum, n) => sum + n, 0)) };
  }

  /** Whether a job with this id is stored. */
  async hasJob(id: string): Promise<boolean> {
    const queue = this.queues.find((q) => id.startsWith(`${q.name}.`));
    return (await queue?.getJob(id)) !== undefined;
  }

  /** Closes the queue handles and the connection. */
  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
    await this.redis.quit();
  }
}

/** A real web process with no worker, and a reader of what it stores: for tests of requests that must store nothing. */
export interface WatchedWeb {
  readonly web: ServiceHandle;
  readonly state: QueueStateReader;
}

/** Starts a web on the test's Redis under a prefix of its own, with `env` on top. */
export async function startWatchedWeb(redisUrl: string, env: Readonly<Record<string, string>>): Promise<WatchedWeb> {
  const isolated = isolatedServiceEnv(redisUrl);
  const web = await spawnWeb({ ...isolated, ...env });
  return { web, state: new QueueStateReader(isolated.REDIS_URL, isolated.QUEUE_PREFIX) };
}

/** Stops it, and expects a clean exit with no unanticipated error in its log. */
export async function stopWatchedWeb(watched: WatchedWeb | undefined): Promise<void> {
  if (!watched) return;
  await watched.state.close();
  expect(await watched.web.stop()).toEqual({ code: 0, signal: null });
  expect(watched.web.logs()).not.toContain('unhandled error');
}
