import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { LOAD_TEST_ENV, spawnWeb, spawnWorker, type ServiceHandle } from '@flotilla/testkit';
import {
  drained,
  measureHttp,
  median,
  pausedSleepJobs,
  pinToCpu,
  printEnvironment,
  printTable,
  startBenchRedis,
  startOtlpSink,
  TELEMETRY_OFF,
  TELEMETRY_OFF_AGAIN,
  TRACING_ON,
  withCpu,
  type BenchRedis,
  type TracingMode,
} from './harness/index.js';

// Sized for a 2-core machine that also runs Redis, the services and the load generator.
const CONNECTIONS = 32;
// Short slices, many rounds: this machine's speed drifts over tens of seconds by more than the
// effect measured, and slices of every mode a few seconds apart see the same drift.
const SLICE_SECONDS = 2;
const JOBS_PER_SLICE = 4000;
// Slices run and thrown away when a process has started, so V8 has optimised its hot paths.
const WARMUP_SLICES = 2;
const ROUNDS = 8;
// Processes running the very same code differ in CPU per request by up to ~15% for good
// (JIT and garbage-collection decisions made early on), more than the effect measured; each
// mode's figure is taken over several processes so that no single one decides it.
const PROCESSES_PER_MODE = 3;
const SCRAPE_INTERVAL_MS = 1000;
const BASE_ENV = { ...LOAD_TEST_ENV, LOG_LEVEL: 'warn' };

// The services under test share a core, one of them loaded at a time; this process (load,
// sink) and Redis share the other.
const SERVICE_CPU = 1;
const HARNESS_CPU = 0;

/** Telemetry off, or on (metrics scraped, traces exported) with one sampling setting. */
interface Mode extends TracingMode {
  readonly scrape: boolean;
}

const modes: readonly [Mode, ...Mode[]] = [
  { ...TELEMETRY_OFF, scrape: false },
  { ...TELEMETRY_OFF_AGAIN, scrape: false },
  // Splits the cost of being scraped from the cost of tracing.
  { ...TELEMETRY_OFF, name: 'scraped every second, tracing off', scrape: true },
  ...TRACING_ON.map((mode) => ({ ...mode, scrape: true })),
];

/** One measured slice of one service: units (requests or jobs) done, their rate and the CPU the service spent. */
interface Slice {
  readonly units: number;
  readonly perSecond: number;
  readonly cpuSeconds: number;
}

/** Scrapes a service's /metrics every interval while `during` runs, as Prometheus would. */
async function whileScraped<T>(service: ServiceHandle, enabled: boolean, during: () => Promise<T>): Promise<T> {
  if (!enabled) return await during();
  const timer = setInterval(
    () =>
      void fetch(`${service.url}/metrics`)
        .then((r) => r.arrayBuffer())
        .catch(() => undefined),
    SCRAPE_INTERVAL_MS,
  );
  try {
    return await during();
  } finally {
    clearInterval(timer);
  }
}

/** A running service of one mode and how to load it for one slice. */
interface Contender {
  /** Loads the service for one measured slice. */
  readonly slice: () => Promise<Slice>;
  readonly close: () => Promise<void>;
}

async function startWeb(redisUrl: string, mode: Mode, sink: string): Promise<Contender> {
  const service = await spawnWeb({ ...BASE_ENV, REDIS_URL: redisUrl, ...mode.env(sink) });
  await pinToCpu(service.pid, SERVICE_CPU);
  // A JSON read through Express, the router, Redis and the ETag logic: the common API path.
  const url = `${service.url}/api/articles/1`;
  const slice = (): Promise<Slice> =>
    whileScraped(service, mode.scrape, () =>
      withCpu(service.pid, async () => {
        const result = await measureHttp({
          url,
          durationSeconds: SLICE_SECONDS,
          warmupSeconds: 0,
          connections: CONNECTIONS,
        });
        return { units: result.requests, perSecond: result.requestsPerSecond };
      }),
    );
  return {
    slice,
    close: async () => {
      await service.stop();
    },
  };
}

async function startWorker(redis: BenchRedis, mode: Mode, sink: string, index: number): Promise<Contender> {
  // Each mode's worker consumes a queue of its own, fed only during its slices.
  const prefix = `{bench-telemetry-${index}}`;
  const queue = new Queue('default', { connection: { host: redis.host, port: redis.port }, prefix });
  await queue.obliterate({ force: true });
  const service = await spawnWorker({
    ...BASE_ENV,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: prefix,
    WORKER_QUEUES: 'default',
    ...mode.env(sink),
  });
  await pinToCpu(service.pid, SERVICE_CPU);
  const slice = async (): Promise<Slice> => {
    // CPU is read only around the drain itself, the paused worker idling while the jobs are added.
    await pausedSleepJobs(queue, JOBS_PER_SLICE);
    return await whileScraped(service, mode.scrape, () =>
      withCpu(service.pid, async () => {
        const started = performance.now();
        await queue.resume();
        await drained(queue, 20);
        return { units: JOBS_PER_SLICE, perSecond: JOBS_PER_SLICE / ((performance.now() - started) / 1000) };
      }),
    );
  };
  return {
    slice,
    close: async () => {
      try {
        await service.stop();
      } finally {
        await queue.close();
      }
    },
  };
}

/** Per mode: the median of its per-round rate ratios to the baseline, and its CPU per unit over all rounds. */
interface Summary {
  readonly perSecond: number;
  readonly rateRatio: number;
  readonly cpuMicros: number;
  /** CPU per unit of each of the mode's processes, over all its slices. */
  readonly cpuMicrosPerProcess: readonly number[];
}

const cpuMicrosOf = (slices: readonly Slice[]): number =>
  (slices.reduce((sum, slice) => sum + slice.cpuSeconds, 0) * 1e6) /
  slices.reduce((sum, slice) => sum + slice.units, 0);

/** The contender of `mode`'s `copy`-th process: copies of one mode lie a whole pass of the modes apart. */
const contenderIndex = (mode: number, copy: number): number => copy * modes.length + mode;

/**
 * Gives every process a slice of load in each round, in an order that alternates between
 * rounds, and sums per mode what its processes' slices measured.
 */
async function interleave(contenders: readonly Contender[]): Promise<Summary[]> {
  const slices: Slice[][] = contenders.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    const order = contenders.map((_, index) => index);
    if (round % 2 === 1) order.reverse();
    for (const index of order) slices[index]?.push(await (contenders[index] as Contender).slice());
  }
  const copies = Array.from({ length: PROCESSES_PER_MODE }, (_, copy) => copy);
  // A slice's ratio is to the baseline process of the same copy in the same round: a neighbour in time.
  return modes.map((_, mode) => {
    const own = copies.map((copy) => slices[contenderIndex(mode, copy)] ?? []);
    const ratios = copies.flatMap((copy) =>
      (own[copy] ?? []).map(
        (slice, round) => slice.perSecond / (slices[contenderIndex(0, copy)]?.[round]?.perSecond ?? Number.NaN),
      ),
    );
    return {
      perSecond: median(own.flat().map((slice) => slice.perSecond)),
      rateRatio: median(ratios),
      cpuMicros: cpuMicrosOf(own.flat()),
      cpuMicrosPerProcess: own.map(cpuMicrosOf),
    };
  });
}

/** Starts every mode's processes, one after the other, each warmed up, and hands them all to `use`; stops them whatever happens. */
async function withContenders<T>(
  start: (mode: Mode, index: number) => Promise<Contender>,
  use: (contenders: readonly Contender[]) => Promise<T>,
): Promise<T> {
  const contenders: Contender[] = [];
  try {
    for (let copy = 0; copy < PROCESSES_PER_MODE; copy++) {
      for (const [index, mode] of modes.entries()) {
        const contender = await start(mode, contenderIndex(index, copy));
        contenders.push(contender);
        for (let warmUp = 0; warmUp < WARMUP_SLICES; warmUp++) await contender.slice();
      }
    }
    return await use(contenders);
  } finally {
    for (const contender of contenders) await contender.close();
  }
}

/**
 * What telemetry costs: the web's requests/s on a JSON API route and the worker's jobs/s, with
 * telemetry off and on at several sampling rates. Every mode runs in processes of its own,
 * started and warmed up once; the rounds then load the processes in turn for a short slice
 * each, so that all modes meet the same drift of this machine's speed.
 */
export async function runTelemetryOverhead(): Promise<void> {
  console.log(
    `\n## Telemetry overhead: ${PROCESSES_PER_MODE} processes per mode, ${ROUNDS} interleaved rounds; web ${CONNECTIONS} connections × ${SLICE_SECONDS} s, worker ${JOBS_PER_SLICE} jobs per slice\n`,
  );
  printEnvironment();
  // Redis, started below, inherits this process's CPU.
  const pinned = await pinToCpu(process.pid, HARNESS_CPU);
  console.log(
    pinned
      ? `Services pinned to CPU ${SERVICE_CPU}; load generator, OTLP sink and Redis to CPU ${HARNESS_CPU}.`
      : 'Not pinned (needs taskset and two CPUs): all processes share the CPUs.',
  );
  const redis = await startBenchRedis();
  const sink = await startOtlpSink();
  let web: Summary[];
  let worker: Summary[];
  try {
    // Creates the sample articles the web route reads.
    await (await spawnWeb({ ...BASE_ENV, REDIS_URL: redis.url })).stop();
    web = await withContenders((mode) => startWeb(redis.url, mode, sink.url), interleave);
    worker = await withContenders((mode, index) => startWorker(redis, mode, sink.url, index), interleave);
  } finally {
    await new Promise((resolve) => sink.server.close(resolve));
    await redis.stop();
  }
  console.log(`OTLP export requests received by the sink: ${sink.received().requests}`);
  const rows = modes.map((mode, index) => {
    const w = web[index] as Summary;
    const j = worker[index] as Summary;
    return {
      variant: mode.name,
      values: [w.perSecond, w.rateRatio, w.cpuMicros, j.perSecond, j.rateRatio, j.cpuMicros],
    };
  });
  printTable({
    title: 'Telemetry on vs off',
    notes: [
      'Web: GET /api/articles/1 (Express, Redis, ETag). Worker: sleep {ms:0} jobs, enqueued without a trace, drained by one worker process (concurrency 20) from a backlog.',
      'On: traces exported over OTLP/HTTP to a sink in this process (sampler parentbased_traceidratio or always_on), /metrics scraped every second.',
      `Each mode runs in ${PROCESSES_PER_MODE} warmed-up processes; each of ${ROUNDS} rounds loads every process in turn (order reversed every other round).`,
      "Rate: median of the slices; round ratio: median of the slices' ratios to the slice of a baseline process in the same round.",
      "CPU per request or job: user + system time of the mode's processes over all their slices, divided by what they served.",
      'Target: telemetry costs ≤ 10% (rate ratio ≥ 0.90, ≤ 1.11× the CPU per unit).',
    ],
    metrics: [
      { name: 'web req/s', higherIsBetter: true },
      { name: 'round ratio', higherIsBetter: true, decimals: 2 },
      { name: 'web CPU µs/req', higherIsBetter: false, decimals: 1 },
      { name: 'worker jobs/s', higherIsBetter: true },
      { name: 'round ratio', higherIsBetter: true, decimals: 2 },
      { name: 'worker CPU µs/job', higherIsBetter: false, decimals: 1 },
    ],
    rows: rows as [(typeof rows)[number], ...typeof rows],
  });
  // How far a mode's processes differ among themselves: the noise floor of the CPU figures.
  for (const [service, summaries] of [
    ['web CPU µs/req', web],
    ['worker CPU µs/job', worker],
  ] as const) {
    console.log(`\n${service} of each process:`);
    for (const [index, mode] of modes.entries())
      console.log(
        `- ${mode.name}: ${(summaries[index] as Summary).cpuMicrosPerProcess.map((micros) => micros.toFixed(1)).join(', ')}`,
      );
  }
}

if (import.meta.main) await runTelemetryOverhead();
