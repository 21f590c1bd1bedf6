import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { LOAD_TEST_ENV, spawnWeb, spawnWorker, type ServiceHandle } from '@flotilla/testkit';
import { measureHttp, median, pinToCpu, printEnvironment, printTable, processCpuSeconds, startBenchRedis, startOtlpSink, TELEMETRY_OFF, TRACING_ON, type BenchRedis, type TracingMode, drained, pausedSleepJobs } from './harness/index.js';

// Sized for a 2-core machine that also runs Redis, the services and the load generator.
const CONNECTIONS = 32;
const WARMUP_SECONDS = 2;
const DURATION_SECONDS = 5;
const JOBS = 10_000;
// Rounds alternate the variants, so a burst of other work on the machine hits both alike.
const ROUNDS = 3;
const SCRAPE_INTERVAL_MS = 1000;
const BASE_ENV = { ...LOAD_TEST_ENV, QUEUE_PREFIX: '{bench-telemetry}', CACHE_PREFIX: 'bench:cache:', DATA_PREFIX: 'bench:data:', LOG_LEVEL: 'warn' };

// The service under test gets a core of its own; this process (load, sink) and Redis share the other.
const SERVICE_CPU = 1;
const HARNESS_CPU = 0;

/** Telemetry off, or on (metrics scraped, traces exported) with one sampling setting. */
interface Mode extends TracingMode {
  readonly scrape: boolean;
}

const modes: readonly [Mode, ...Mode[]] = [
  { ...TELEMETRY_OFF, scrape: false },
  // Splits the cost of being scraped from the cost of tracing.
  { ...TELEMETRY_OFF, name: 'scraped every second, tracing off', scrape: true },
  ...TRACING_ON.map((mode) => ({ ...mode, scrape: true })),
];

/** Scrapes a service's /metrics every interval while `during` runs, as Prometheus would. */
async function whileScraped<T>(service: ServiceHandle, enabled: boolean, during: () => Promise<T>): Promise<T> {
  if (!enabled) return await during();
  const timer = setInterval(() => void fetch(`${service.url}/metrics`).then((r) => r.arrayBuffer()).catch(() => undefined), SCRAPE_INTERVAL_MS);
  try {
    return await during();
  } finally {
    clearInterval(timer);
  }
}

/** What one round measured of one service: units (requests or jobs) per second, and its CPU per unit. */
interface Measured {
  readonly perSecond: number;
  /** CPU microseconds the service spent per unit: what telemetry costs a replica's core even when the load generator, not the service, limits the rate. */
  readonly cpuMicros: number;
}

/** The CPU a process used while `during` ran, per unit it reports. */
async function withCpu(pid: number, during: () => Promise<{ perSecond: number; units: number }>): Promise<Measured> {
  const before = await processCpuSeconds(pid);
  const { perSecond, units } = await during();
  const after = await processCpuSeconds(pid);
  const cpuMicros = before === undefined || after === undefined ? Number.NaN : ((after - before) * 1e6) / units;
  return { perSecond, cpuMicros };
}

async function webRate(redis: BenchRedis, mode: Mode, sink: string): Promise<Measured> {
  const web = await spawnWeb({ ...BASE_ENV, REDIS_URL: redis.url, ...mode.env(sink) });
  await pinToCpu(web.pid, SERVICE_CPU);
  try {
    // A JSON read through Express, the router, Redis and the ETag logic: the common API path.
    const url = `${web.url}/api/articles/1`;
    return await whileScraped(web, mode.scrape, async () => {
      await measureHttp({ url, durationSeconds: WARMUP_SECONDS, warmupSeconds: 0, connections: CONNECTIONS });
      return await withCpu(web.pid, async () => {
        const result = await measureHttp({ url, durationSeconds: DURATION_SECONDS, warmupSeconds: 0, connections: CONNECTIONS });
        return { perSecond: result.requestsPerSecond, units: result.requests };
      });
    });
  } finally {
    await web.stop();
  }
}

async function workerRate(redis: BenchRedis, mode: Mode, sink: string): Promise<Measured> {
  const queue = new Queue('default', { connection: { host: redis.host, port: redis.port }, prefix: BASE_ENV.QUEUE_PREFIX });
  try {
    // Paused until the worker is ready, so its start-up (longer with tracing) is not timed.
    await pausedSleepJobs(queue, JOBS);
    const worker = await spawnWorker({ ...BASE_ENV, REDIS_URL: redis.url, WORKER_QUEUES: 'default', ...mode.env(sink) });
    await pinToCpu(worker.pid, SERVICE_CPU);
    try {
      return await withCpu(worker.pid, async () => {
        const started = performance.now();
        await queue.resume();
        await whileScraped(worker, mode.scrape, () => drained(queue, 50));
        return { perSecond: JOBS / ((performance.now() - started) / 1000), units: JOBS };
      });
    } finally {
      await worker.stop();
    }
  } finally {
    await queue.close();
  }
}

/**
 * What telemetry costs: the web's requests/s on a JSON API route and the worker's jobs/s, with
 * telemetry off and on at several sampling rates, in alternating rounds of the same run.
 */
export async function runTelemetryOverhead(): Promise<void> {
  console.log(`\n## Telemetry overhead: ${ROUNDS} rounds; web ${CONNECTIONS} connections × ${DURATION_SECONDS} s, worker ${JOBS} jobs\n`);
  printEnvironment();
  // Redis, started below, inherits this process's CPU.
  const pinned = await pinToCpu(process.pid, HARNESS_CPU);
  console.log(pinned ? `Service pinned to CPU ${SERVICE_CPU}; load generator, OTLP sink and Redis to CPU ${HARNESS_CPU}.` : 'Not pinned (needs taskset and two CPUs): all processes share the CPUs.');
  const redis = await startBenchRedis();
  const sink = await startOtlpSink();
  const web: Measured[][] = modes.map(() => []);
  const jobs: Measured[][] = modes.map(() => []);
  try {
    // Creates the sample articles the web route reads.
    await (await spawnWeb({ ...BASE_ENV, REDIS_URL: redis.url })).stop();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [index, mode] of modes.entries()) {
        web[index]?.push(await webRate(redis, mode, sink.url));
        jobs[index]?.push(await workerRate(redis, mode, sink.url));
      }
    }
  } finally {
    await new Promise((resolve) => sink.server.close(resolve));
    await redis.stop();
  }
  console.log(`OTLP export requests received by the sink: ${sink.received().requests}`);
  const figure = (rounds: Measured[][], index: number, pick: (m: Measured) => number): number => median((rounds[index] ?? []).map(pick));
  const rows = modes.map((mode, index) => ({
    variant: mode.name,
    values: [figure(web, index, (m) => m.perSecond), figure(web, index, (m) => m.cpuMicros), figure(jobs, index, (m) => m.perSecond), figure(jobs, index, (m) => m.cpuMicros)],
  }));
  printTable({
    title: 'Telemetry on vs off',
    notes: [
      'Web: GET /api/articles/1 (Express, Redis, ETag). Worker: sleep {ms:0} jobs drained by one ready worker process (concurrency 20).',
      'On: traces exported over OTLP/HTTP to a sink in this process (sampler parentbased_traceidratio or always_on), /metrics scraped every second.',
      'CPU per request or job: user + system time of the service process over the measured part, divided by what it served; it holds even when the load generator, not the service, limits the rate.',
      `Median of ${ROUNDS} rounds. Target: telemetry costs ≤ 10% (≥ 0.90× the rate, ≤ 1.11× the CPU per unit).`,
    ],
    metrics: [
      { name: 'web req/s', higherIsBetter: true },
      { name: 'web CPU µs/req', higherIsBetter: false, decimals: 1 },
      { name: 'worker jobs/s', higherIsBetter: true },
      { name: 'worker CPU µs/job', higherIsBetter: false, decimals: 1 },
    ],
    rows: rows as [(typeof rows)[number], ...typeof rows],
  });
}

if (import.meta.main) await runTelemetryOverhead();
