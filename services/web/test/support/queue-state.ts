import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** Every key under a queue prefix and every job count per queue: what a rejected request must leave as it was. */
export interface QueueState {
  readonly keys: readonly string[];
  readonly jobs: readonly number[];
}

/** Reads the queues of one test's prefix (no worker may run on it, or the state moves by itself). */
export class QueueStateReader {
  private readonly queues: Queue[];

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    queueNames: readonly string[],
  ) {
    this.queues = queueNames.map((name) => new Queue(name, { connection: redis, prefix }));
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

  /** Closes the queue handles (not the Redis connection, which the caller owns). */
  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}
