import { performance } from 'node:perf_hooks';
import { setTimeout as wait } from 'node:timers/promises';
import { Queue, Worker, type Processor, type WorkerOptions } from 'bullmq';
import { loadWorkerConfig } from '@flotilla/config';
import { catalog, defaultQueue, sleepJob } from '@flotilla/jobs';
import { JobProducer, ThroughputRecorder, createJobProcessor, defineHandler, type BoundHandler } from '@flotilla/queue';
import { createRedis, waitForReady } from '@flotilla/redis';
import { median, printEnvironment, printTable, runConcurrently, startBenchRedis, type BenchRedis } from './harness/index.js';

// Sized so each variant enqueues and drains for a few seconds on a 2-core machine.
const JOBS = 10_000;
// Like a web process with this many job submissions open at once.
const ENQUEUE_CONCURRENCY = 32;
// The first round only warms up the JIT and Redis; the median of the others is reported. This
// machine's speed drifts between rounds by more than the differences measured, so there are
// many rounds, each variant's is compared with the baseline's of the same round, and the
// order of the variants turns around every round.
const ROUNDS = 9;
const SLEEP_INPUT = { ms: 0, steps: 1 };

/** Jobs put through one variant, ready for a worker. */
interface VariantSetup {
  enqueue(): Promise<unknown>;
  readonly processor: Processor;
  readonly workerOptions: WorkerOptions;
  /** Attaches what the service attaches to each of its workers. */
  observe?(worker: Worker): void;
  /** Closes what the setup opened, after the worker is closed. */
  close(): Promise<void>;
}

/** A way of enqueueing and processing the same jobs. */
interface Variant {
  readonly name: string;
  setUp(redis: BenchRedis, prefix: string): Promise<VariantSetup>;
}

/** What one round measured for one variant, in jobs per second. */
interface Rates {
  readonly enqueue: number;
  readonly process: number;
  /** CPU time per job while the worker drained the queue: the worker's process and Redis. */
  readonly workerCpuUs: number;
  readonly redisCpuUs: number;
}

/** BullMQ as its documentation shows it: default job options, a trivial async processor. */
const rawBullmq: Variant = {
  name: 'raw BullMQ',
  setUp(redis, prefix) {
    const connection = { host: redis.host, port: redis.port };
    const queue = new Queue(defaultQueue.name, { connection, prefix });
    return Promise.resolve({
      enqueue: () => queue.add(sleepJob.name, SLEEP_INPUT),
      processor: () => Promise.resolve({ sleptMs: 0, steps: 1 }),
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
      const config = loadWorkerConfig({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix });
      const producerConnection = createRedis({ url: redis.url, role: 'producer', connectionName: 'flotilla:bench:producer' });
      const consumerConnection = createRedis({ url: redis.url, role: 'consumer', connectionName: 'flotilla:bench:worker' });
      await waitForReady(producerConnection, 10_000);
      const producer = new JobProducer({
        catalog,
        connection: producerConnection,
        prefix,
        retention: {
          completedSeconds: config.queue.completedRetentionSeconds,
          failedSeconds: config.queue.failedRetentionSeconds,
          count: config.queue.retentionCount,
          eventsMaxLen: config.queue.eventsMaxLen,
        },
        // Only used for Idempotency-Key requests, which this benchmark does not send.
        idempotencySecret: 'bench-secret-for-idempotency-keys-never-sent',
      });
      const throughput = new ThroughputRecorder(consumerConnection, prefix);
      return {
        enqueue: () => producer.enqueue(sleepJob.name, SLEEP_INPUT),
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
          await Promise.all([producerConnection.quit(), consumerConnection.quit()]);
        },
      };
    },
  };
}

const variants = [
  rawBullmq,
  flotilla('Flotilla, handler returns at once', bareSleepHandler),
  flotilla('Flotilla, sleep handler (1 progress report)', reportingSleepHandler),
] as const;

/**
 * Worker throughput and enqueue rate of Flotilla against raw BullMQ, on one private Redis,
 * each variant under a key prefix of its own and Redis flushed in between.
 */
export async function runJobThroughput(): Promise<void> {
  console.log(`\n## Job throughput: ${JOBS.toLocaleString('en-US')} sleep jobs ${JSON.stringify(SLEEP_INPUT)}, ${ROUNDS} rounds after a warm-up round\n`);
  printEnvironment();
  const redis = await startBenchRedis();
  const measured: Rates[][] = variants.map(() => []);
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      const order = [...variants.entries()];
      if (round % 2 === 1) order.reverse();
      for (const [index, variant] of order) {
        const rates = await measureVariant(variant, redis, `{bench-${index}-${round}}`);
        if (round > 0) measured[index]?.push(rates);
      }
    }
  } finally {
    await redis.stop();
  }
  const [raw, flotillaBare, flotillaReporting] = measured.map((rates) => ({
    enqueue: median(rates.map((r) => r.enqueue)),
    process: median(rates.map((r) => r.process)),
    workerCpuUs: median(rates.map((r) => r.workerCpuUs)),
    redisCpuUs: median(rates.map((r) => r.redisCpuUs)),
  }));
  if (!raw || !flotillaBare || !flotillaReporting) throw new Error('a variant was not measured');
  // Each round's figure over the baseline's of the same round, then the median of those.
  const roundRatio = (index: number, rate: keyof Rates): string =>
    median((measured[index] ?? []).map((rates, round) => rates[rate] / (measured[0]?.[round]?.[rate] ?? NaN))).toFixed(2);

  printTable({
    title: 'Enqueue rate',
    notes: [
      `${ENQUEUE_CONCURRENCY} enqueue calls in flight at a time; median of ${ROUNDS} rounds.`,
      `Median of the per-round ratios to the baseline: JobProducer.enqueue ${roundRatio(1, 'enqueue')}×.`,
    ],
    metrics: [{ name: 'jobs/s', higherIsBetter: true }],
    rows: [
      { variant: 'raw BullMQ queue.add', values: [raw.enqueue] },
      { variant: 'Flotilla JobProducer.enqueue', values: [flotillaBare.enqueue] },
    ],
  });
  printTable({
    title: 'Worker throughput',
    notes: [
      `One worker, concurrency ${defaultQueue.concurrency} (the default queue's); from the first job's start to the last job's completion; median of ${ROUNDS} rounds.`,
      `Median of the per-round ratios to the baseline: ${variants[1].name} ${roundRatio(1, 'process')}×, ${variants[2].name} ${roundRatio(2, 'process')}×.`,
    ],
    metrics: [
      { name: 'jobs/s', higherIsBetter: true },
      { name: 'worker CPU µs/job', higherIsBetter: false, decimals: 1 },
      { name: 'Redis CPU µs/job', higherIsBetter: false, decimals: 1 },
    ],
    rows: [
      { variant: 'raw BullMQ Worker, trivial async processor', values: [raw.process, raw.workerCpuUs, raw.redisCpuUs] },
      { variant: variants[1].name, values: [flotillaBare.process, flotillaBare.workerCpuUs, flotillaBare.redisCpuUs] },
      { variant: variants[2].name, values: [flotillaReporting.process, flotillaReporting.workerCpuUs, flotillaReporting.redisCpuUs] },
    ],
  });
}

async function measureVariant(variant: Variant, redis: BenchRedis, prefix: string): Promise<Rates> {
  const setup = await variant.setUp(redis, prefix);
  try {
    const started = performance.now();
    await runConcurrently(JOBS, ENQUEUE_CONCURRENCY, () => setup.enqueue());
    const enqueueSeconds = (performance.now() - started) / 1000;
    const [cpuBefore, redisBefore] = [process.cpuUsage(), await redis.cpuSeconds()];
    const processSeconds = await drain(setup);
    const cpu = process.cpuUsage(cpuBefore);
    const redisSeconds = (await redis.cpuSeconds()) - redisBefore;
    return {
      enqueue: JOBS / enqueueSeconds,
      process: JOBS / processSeconds,
      workerCpuUs: (cpu.user + cpu.system) / JOBS,
      redisCpuUs: (redisSeconds * 1e6) / JOBS,
    };
  } finally {
    await setup.close();
    await redis.flush();
  }
}

// Seconds from the first job's start to the JOBS-th completion; any failed job aborts the run.
async function drain(setup: VariantSetup): Promise<number> {
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
    if (++completed === JOBS) done.resolve(performance.now() - (firstStart ?? 0));
  });
  worker.on('failed', (job, error) => done.reject(new Error(`job ${job?.id ?? '?'} failed: ${error.message}`)));
  worker.on('error', (error) => done.reject(error));
  try {
    return (await done.promise) / 1000;
  } finally {
    await worker.close();
  }
}

if (import.meta.main) await runJobThroughput();
