import { catalog } from '@flotilla/jobs';
import { JobProducer, type JobView } from '@flotilla/queue';
import { createRedis, waitForReady, type RedisClient } from '@flotilla/redis';

/** A test's handle on one queue Redis: a producer for tally jobs and a reader of their effects. */
export interface TallyHarness {
  readonly producer: JobProducer;
  /** A plain connection to the same Redis, e.g. to read the tally keys. */
  readonly redis: RedisClient;
  /** Enqueues one tally job and returns its id. */
  enqueue(tally: string, workMs?: number): Promise<string>;
  /** Job counts of the default queue by state. */
  counts(): Promise<Record<'waiting' | 'active' | 'delayed' | 'completed' | 'failed', number>>;
  /** What the tally handler recorded: runs per job id, the applied ids and the total. */
  effects(tally: string): Promise<TallyEffects>;
  /** The public view of a job, or undefined when it is not (or no longer) in Redis. */
  find(id: string): Promise<JobView | undefined>;
  close(): Promise<void>;
}

/** Effects of one tally, read back from Redis. */
export interface TallyEffects {
  /** Job id → how many times its handler reached the effect. */
  readonly runs: ReadonlyMap<string, number>;
  readonly applied: ReadonlySet<string>;
  readonly total: number;
  /** Jobs whose handler reached the effect more than once (at-least-once delivery at work). */
  readonly duplicates: number;
}

/**
 * Opens a producer and a reader on `redisUrl` for services started with `queuePrefix` and
 * `dataPrefix`. The key layout mirrors the worker's tally handler (services/worker/src/handlers/tally.ts).
 */
export async function openTallyHarness(
  redisUrl: string,
  queuePrefix: string,
  dataPrefix: string,
): Promise<TallyHarness> {
  // A consumer-role connection waits out a Redis restart instead of failing the test's reads.
  const redis = createRedis({ url: redisUrl, role: 'consumer', connectionName: 'flotilla:test:harness' });
  // The producer fails fast while Redis is down, as the web's does.
  const producerConnection = createRedis({ url: redisUrl, role: 'producer', connectionName: 'flotilla:test:producer' });
  // Fault tests take Redis away on purpose; the outage shows in the assertions, not as noise.
  for (const connection of [redis, producerConnection]) connection.on('error', () => undefined);
  await Promise.all([waitForReady(redis, 10_000), waitForReady(producerConnection, 10_000)]);
  const producer = new JobProducer({
    catalog,
    connection: producerConnection,
    prefix: queuePrefix,
    retention: { completedMs: 3_600_000, failedMs: 3_600_000, count: 100_000, eventsMaxLen: 10_000 },
    idempotencySecret: 'fault-tests',
  });
  // BullMQ prints an 'error' nobody listens for; here outages are expected.
  for (const { name } of catalog.queues) producer.queue(name).on('error', () => undefined);
  const keys = (tally: string): [string, string, string] => {
    const base = `${dataPrefix}tally:{${tally}}:`;
    return [`${base}runs`, `${base}applied`, `${base}total`];
  };
  return {
    producer,
    redis,
    async enqueue(tally, workMs = 0) {
      return (await producer.enqueue('tally', { tally, amount: 1, workMs })).id;
    },
    async counts() {
      const counts = await producer
        .queue('default')
        .getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
      return {
        waiting: counts['waiting'] ?? 0,
        active: counts['active'] ?? 0,
        delayed: counts['delayed'] ?? 0,
        completed: counts['completed'] ?? 0,
        failed: counts['failed'] ?? 0,
      };
    },
    async effects(tally) {
      const [runsKey, appliedKey, totalKey] = keys(tally);
      const [runs, applied, total] = await Promise.all([
        redis.hgetall(runsKey),
        redis.smembers(appliedKey),
        redis.get(totalKey),
      ]);
      const runCounts = new Map(Object.entries(runs).map(([id, count]) => [id, Number(count)]));
      return {
        runs: runCounts,
        applied: new Set(applied),
        total: Number(total ?? 0),
        duplicates: [...runCounts.values()].filter((count) => count > 1).length,
      };
    },
    find: (id) => producer.find(id),
    async close() {
      await producer.close();
      await Promise.all([redis.quit().catch(() => undefined), producerConnection.quit().catch(() => undefined)]);
    },
  };
}
