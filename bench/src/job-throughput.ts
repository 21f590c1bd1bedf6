import { performance } from 'node:perf_hooks';
import { defaultQueue } from '@flotilla/jobs';
import {
  median,
  printEnvironment,
  printTable,
  runConcurrently,
  startBenchRedis,
  type BenchRedis,
} from './harness/index.js';
import {
  drain,
  flotillaNoOp,
  flotillaReporting,
  rawBullmq,
  rawWorkerOnFlotillaJobs,
  SLEEP_INPUT,
  type Variant,
} from './job-variants.js';

// Sized so each variant enqueues and drains for a few seconds on a 2-core machine.
const JOBS = 10_000;
// Like a web process with this many job submissions open at once.
const ENQUEUE_CONCURRENCY = 32;
// The first round only warms up the JIT and Redis; the median of the others is reported. This
// machine's speed drifts between rounds by more than the differences measured, so there are
// many rounds, each variant's is compared with the baseline's of the same round, and the
// order of the variants turns around every round.
const ROUNDS = 9;

/** What one round measured for one variant, in jobs per second. */
interface Rates {
  readonly enqueue: number;
  readonly process: number;
  /** CPU time per job while the worker drained the queue: the worker's process and Redis. */
  readonly workerCpuUs: number;
  readonly redisCpuUs: number;
}

const variants = [rawBullmq, rawWorkerOnFlotillaJobs, flotillaNoOp, flotillaReporting] as const;

/**
 * Worker throughput and enqueue rate of Flotilla against raw BullMQ, on one private Redis,
 * each variant under a key prefix of its own and Redis flushed in between.
 */
export async function runJobThroughput(): Promise<void> {
  console.log(
    `\n## Job throughput: ${JOBS.toLocaleString('en-US')} sleep jobs ${JSON.stringify(SLEEP_INPUT)}, ${ROUNDS} rounds after a warm-up round\n`,
  );
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
  const [raw, onFlotillaJobsRates, bareRates, reportingRates] = measured.map((rates) => ({
    enqueue: median(rates.map((r) => r.enqueue)),
    process: median(rates.map((r) => r.process)),
    workerCpuUs: median(rates.map((r) => r.workerCpuUs)),
    redisCpuUs: median(rates.map((r) => r.redisCpuUs)),
  }));
  if (!raw || !onFlotillaJobsRates || !bareRates || !reportingRates) throw new Error('a variant was not measured');
  // Each round's figure over the baseline's of the same round, then the median of those.
  const roundRatio = (index: number, rate: keyof Rates, baseline: number): string =>
    median(
      (measured[index] ?? []).map((rates, round) => rates[rate] / (measured[baseline]?.[round]?.[rate] ?? NaN)),
    ).toFixed(2);

  printTable({
    title: 'Enqueue rate',
    notes: [
      `${ENQUEUE_CONCURRENCY} enqueue calls in flight at a time; median of ${ROUNDS} rounds.`,
      `Target (JobProducer.enqueue against queue.add of the same job options, ≥ 0.85×), median of the per-round ratios: ${roundRatio(2, 'enqueue', 1)}×; against default options ${roundRatio(2, 'enqueue', 0)}×.`,
    ],
    metrics: [{ name: 'jobs/s', higherIsBetter: true }],
    rows: [
      { variant: "raw BullMQ queue.add, Flotilla's job options", values: [onFlotillaJobsRates.enqueue] },
      { variant: 'Flotilla JobProducer.enqueue', values: [bareRates.enqueue] },
      { variant: 'raw BullMQ queue.add, default job options', values: [raw.enqueue] },
    ],
  });
  printTable({
    title: 'Worker throughput',
    notes: [
      `One worker, concurrency ${defaultQueue.concurrency} (the default queue's); from the first job's start to the last job's completion; median of ${ROUNDS} rounds.`,
      `Target (Flotilla's worker against a raw BullMQ Worker on the same jobs, ≥ 0.90×), median of the per-round ratios: ${flotillaNoOp.name} ${roundRatio(2, 'process', 1)}×, ${flotillaReporting.name} ${roundRatio(3, 'process', 1)}×.`,
      `Against raw BullMQ with its default job options (${raw.process.toFixed(0)} jobs/s, keeping every finished job), per-round ratios: ${rawWorkerOnFlotillaJobs.name} ${roundRatio(1, 'process', 0)}×, ${flotillaNoOp.name} ${roundRatio(2, 'process', 0)}×, ${flotillaReporting.name} ${roundRatio(3, 'process', 0)}×.`,
    ],
    metrics: [
      { name: 'jobs/s', higherIsBetter: true },
      { name: 'worker CPU µs/job', higherIsBetter: false, decimals: 1 },
      { name: 'Redis CPU µs/job', higherIsBetter: false, decimals: 1 },
    ],
    rows: [
      {
        variant: rawWorkerOnFlotillaJobs.name,
        values: [onFlotillaJobsRates.process, onFlotillaJobsRates.workerCpuUs, onFlotillaJobsRates.redisCpuUs],
      },
      { variant: flotillaNoOp.name, values: [bareRates.process, bareRates.workerCpuUs, bareRates.redisCpuUs] },
      {
        variant: flotillaReporting.name,
        values: [reportingRates.process, reportingRates.workerCpuUs, reportingRates.redisCpuUs],
      },
      { variant: rawBullmq.name, values: [raw.process, raw.workerCpuUs, raw.redisCpuUs] },
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
    const processSeconds = await drain(setup, JOBS);
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

if (import.meta.main) await runJobThroughput();
