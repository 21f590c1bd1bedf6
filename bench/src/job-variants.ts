import { performance } from 'node:perf_hooks';
import { setTimeout as wait } from 'node:timers/promises';
import { Queue, Worker, type Processor, type WorkerOptions } from 'bullmq';
import { loadWorkerConfig } from '@flotilla/config';
import { catalog, defaultQueue, sleepJob } from '@flotilla/jobs';
import { JobProducer, ThroughputRecorder, createJobProcessor, defineHandler, type BoundHandler } from '@flotilla/queue';
import { createRedis, waitForReady } from '@flotilla/redis';
import { flotillaSleepJobOptions, type BenchRedis } from './harness/index.js';

// The ways of enqueueing and running the same sleep jobs that the job benchmarks compare.

export const SLEEP_INPUT = { ms: 0, steps: 1 };

/** Where the variants find Redis. */
export type RedisAddress = Pick<BenchRedis, 'url' | 'host' | 'port'>;

/** Jobs put through one variant, ready for a worker. */
export interface VariantSetup {
  enqueue(): Promise<unknown>;
  readonly processor: Processor;
  readonly workerOptions: WorkerOptions;
  /** Attaches what the service attaches to each of its workers. */
  observe?(worker: Worker): void;
  /** Closes what the setup opened, after the worker is closed. */
  close(): Promise<void>;
}

/** A way of enqueueing and processing the same jobs. */
export interface Variant {
  readonly name: string;
  setUp(redis: RedisAddress, prefix: string): Promise<VariantSetup>;
}

/** The raw variants' processor: a trivial async function, as BullMQ's examples write it. */
const noOpProcessor: Processor = () => Promise.resolve({ sleptMs: 0, steps: 1 });

/**
 * BullMQ as its documentation shows it: default job options, which keep every finished job
 * forever, and a trivial async processor.
 */
export const rawBullmq: Variant = {
  name: 'raw BullMQ Worker, default job options',
  setUp(redis, prefix) {
    const connection = { host: redis.host, port: redis.port };
    const queue = new Queue(defaultQueue.name, { connection, prefix });
    return Promise.resolve({
      enqueue: () => queue.add(sleepJob.name, SLEEP_INPUT),
      processor: noOpProcessor,
      workerOptions: { connection, prefix, concurrency: defaultQueue.concurrency },
      close: () => queue.close(),
    });
  },
};

/** Flotilla's result for the sleep input without any Redis work of the handler's own. */
const bareSleepHandler = defineHandler(sleepJob, ({ ms, steps }) => ({ sleptMs: ms, steps }));

// Does what services/worker's sleep handler does (the service exposes no module to import it
// from): for { ms: 0, steps: 1 } that is one timer tick and one progress report to Redis.
const reportingSleepHandler = defineHandler(sleepJob, async ({ ms, steps }, context) => {
  for (let step = 1; step <= steps; step++) {
    await wait(ms / steps);
    await context.reportProgress(Math.round((100 * step) / steps));
  }
  return { sleptMs: ms, steps };
});

/** JobProducer as the web service builds it, on a producer-role connection of its own. */
async function flotillaProducer(redis: RedisAddress, prefix: string) {
  const config = loadWorkerConfig({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix });
  const connection = createRedis({ url: redis.url, role: 'producer', connectionName: 'flotilla:bench:producer' });
  await waitForReady(connection, 10_000);
  const producer = new JobProducer({
    catalog,
    connection,
    prefix,
    retention: {
      completedMs: config.queue.completedRetentionMs,
      failedMs: config.queue.failedRetentionMs,
      count: config.queue.retentionCount,
      eventsMaxLen: config.queue.eventsMaxLen,
    },
    // Only used for Idempotency-Key requests, which this benchmark does not send.
    idempotencySecret: 'bench-secret-for-idempotency-keys-never-sent',
  });
  return {
    config,
    enqueue: () => producer.enqueue(sleepJob.name, SLEEP_INPUT),
    close: async () => {
      await producer.close();
      await connection.quit();
    },
  };
}

/**
 * Flotilla's jobs (unguessable ids, retry, backoff and retention options), added with a raw
 * `queue.add` as a BullMQ user would write those options out, and run by a plain BullMQ Worker
 * with the raw variant's processor: the same jobs, so the enqueue comparison measures only what
 * JobProducer adds (schema check, catalog, id) and the worker-against-worker comparison only
 * what Flotilla's worker adds. BullMQ's own per-job work for those options (trimming finished
 * jobs to the retention on every completion, bigger job hashes) falls on both sides.
 */
export const rawWorkerOnFlotillaJobs: Variant = {
  name: "raw BullMQ Worker, Flotilla's jobs",
  async setUp(redis, prefix) {
    const jobOptions = flotillaSleepJobOptions({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix });
    const connection = createRedis({ url: redis.url, role: 'producer', connectionName: 'flotilla:bench:producer' });
    await waitForReady(connection, 10_000);
    const queue = new Queue(defaultQueue.name, { connection, prefix });
    return {
      enqueue: () => queue.add(sleepJob.name, SLEEP_INPUT, jobOptions()),
      processor: noOpProcessor,
      workerOptions: {
        connection: { host: redis.host, port: redis.port },
        prefix,
        concurrency: defaultQueue.concurrency,
      },
      close: async () => {
        await queue.close();
        await connection.quit();
      },
    };
  },
};

/**
 * The path a job takes in Flotilla: JobProducer (schema check, unguessable id, retry and
 * retention options) on a producer-role connection, and the worker's processor (schema check
 * of the stored data, handler lookup, context) on a consumer-role connection, with the
 * defaults the services read from an empty environment.
 */
function flotilla(name: string, handler: BoundHandler): Variant {
  return {
    name,
    async setUp(redis, prefix) {
      const producer = await flotillaProducer(redis, prefix);
      const { config } = producer;
      const consumerConnection = createRedis({
        url: redis.url,
        role: 'consumer',
        connectionName: 'flotilla:bench:worker',
      });
      const throughput = new ThroughputRecorder(consumerConnection, prefix);
      return {
        enqueue: producer.enqueue,
        // No queues to check for completeness: only the sleep type is enqueued here.
        processor: createJobProcessor(catalog, [], [handler]),
        workerOptions: {
          connection: consumerConnection,
          prefix,
          concurrency: defaultQueue.concurrency,
          lockDuration: config.worker.lockDurationMs,
          stalledInterval: config.worker.stalledIntervalMs,
          maxStalledCount: config.worker.maxStalledCount,
        },
        // As services/worker counts them: jobs finished per minute, for the dashboard.
        observe: (worker) => throughput.observe(worker, defaultQueue.name),
        async close() {
          await throughput.stop();
          await producer.close();
          await consumerConnection.quit();
        },
      };
    },
  };
}

/** Flotilla with a handler that returns at once: the cost of Flotilla's machinery alone. */
export const flotillaNoOp = flotilla('Flotilla, handler returns at once', bareSleepHandler);

/** Flotilla with what the worker's sleep handler does: one more Redis round trip per job. */
export const flotillaReporting = flotilla('Flotilla, sleep handler (1 progress report)', reportingSleepHandler);

/** Runs a worker until `jobs` jobs have completed: the seconds from the first job's start to the last completion. Any failed job aborts the run. */
export async function drain(setup: VariantSetup, jobs: number): Promise<number> {
  let firstStart: number | undefined;
  let completed = 0;
  const done = Promise.withResolvers<number>();
  const worker = new Worker(
    defaultQueue.name,
    // One parameter, as BullMQ's own examples write it: BullMQ then makes no cancellation
    // signal per job for any variant.
    (job) => {
      firstStart ??= performance.now();
      return setup.processor(job);
    },
    setup.workerOptions,
  );
  setup.observe?.(worker);
  worker.on('completed', () => {
    if (++completed === jobs) done.resolve(performance.now() - (firstStart ?? 0));
  });
  worker.on('failed', (job, error) => done.reject(new Error(`job ${job?.id ?? '?'} failed: ${error.message}`)));
  worker.on('error', (error) => done.reject(error));
  try {
    return (await done.promise) / 1000;
  } finally {
    await worker.close();
  }
}
