import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { findExecutable } from '@flotilla/local-redis';
import { LOAD_TEST_ENV, spawnWeb, spawnWorker, type ServiceHandle } from '@flotilla/testkit';
import {
  addSleepJobs,
  CALLGRIND_NODE_ARGS,
  drained,
  EVERY_TRACE,
  median,
  NOTHING_SAMPLED,
  pausedSleepJobs,
  printEnvironment,
  printTable,
  runConcurrently,
  startBenchRedis,
  startOtlpSink,
  TELEMETRY_OFF,
  TELEMETRY_OFF_AGAIN,
  TRACING_ON,
  type BenchRedis,
  type OtlpSink,
  type TracingMode,
} from './harness/index.js';

// Requests or jobs before counting starts, the same in every mode, since a longer warm-up alone
// makes a process cheaper: enough for a process sampling 1 % to have recorded 300 traces, so
// that the code which records, encodes and exports spans has been optimised by V8 too, as in a
// process that has served for a while (after 2,000 requests at 1 % it was still cold and
// counted 1.48× off, where 10 % counted 1.23×). The warm-up runs uninstrumented, which valgrind
// does several times faster than counting.
const WARM_UP = 30_000;
// The requests or jobs counted, in each of ROUNDS rounds of all modes. A garbage collection
// more or less in the stretch counted moves a figure by several per cent, so both are large.
const MEASURED = 5000;
const ROUNDS = 2;
const BASE_ENV = {
  ...LOAD_TEST_ENV,
  QUEUE_PREFIX: '{bench-instructions}',
  CACHE_PREFIX: 'bench-i:cache:',
  DATA_PREFIX: 'bench-i:data:',
  LOG_LEVEL: 'warn',
};
// Under valgrind the services start and run about fifty times slower.
const READY_TIMEOUT_MS = 300_000;
const STOP_TIMEOUT_MS = 120_000;

// Every trace recorded is measured too: against nothing sampled it gives what recording one
// request's or job's trace costs, which the sampled share of them pays.
const modes: readonly TracingMode[] = [TELEMETRY_OFF, TELEMETRY_OFF_AGAIN, ...TRACING_ON];
// Under callgrind a service runs some fifty times slower, so work done on a timer comes fifty
// times as often per request: the span processor's export every 5 s would send a batch of a
// span or two instead of hundreds. Exporting whenever 128 spans have ended, and never on the
// clock, keeps each span's own cost (recording, encoding, sending) in the figure and spreads
// each export's fixed cost over a batch, as a busy production process does.
const EXPORT_BY_BATCH = { OTEL_BSP_SCHEDULE_DELAY: '3600000', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '128' };

/** Instructions executed, in all of a process's threads and in its main (JavaScript) thread. */
interface Instructions {
  readonly all: number;
  readonly main: number;
}

/** A service running under callgrind, whose counting can be started and read while it runs. */
interface Counted {
  readonly service: ServiceHandle;
  /** Starts counting instructions from zero. */
  readonly count: () => Promise<void>;
  /** The instructions executed since counting started. */
  readonly read: () => Promise<Instructions>;
}

const per = (counted: Instructions, units: number): Instructions => ({
  all: counted.all / units,
  main: counted.main / units,
});

/** Starts a service under callgrind and hands it to `use`, then stops it whatever happens. */
async function underCallgrind<T>(
  start: (wrapper: readonly string[]) => Promise<ServiceHandle>,
  use: (counted: Counted) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-callgrind-'));
  try {
    // One dump file per thread: the main thread runs the JavaScript, the others are V8's
    // garbage collection and compiler helpers and libuv's pool.
    const service = await start([
      'valgrind',
      '--tool=callgrind',
      '--separate-threads=yes',
      '--instr-atstart=no',
      `--callgrind-out-file=${join(dir, 'out')}`,
    ]);
    const control = (...args: string[]) =>
      promisify(execFile)('callgrind_control', [...args, String(service.pid)], { timeout: 60_000 });
    try {
      return await use({
        service,
        count: async () => {
          await control('--instr=on');
          await control('--zero');
        },
        read: async () => {
          await control('--dump=counted');
          // callgrind names a requested dump out.<number>-<thread>, the main thread being 01.
          const counted = { all: 0, main: 0 };
          for (const name of await readdir(dir)) {
            const dump = await readFile(join(dir, name), 'utf8');
            const summary = /^desc: Trigger: .*counted[\s\S]*?^summary: (\d+)/m.exec(dump)?.[1];
            if (summary === undefined) continue;
            counted.all += Number(summary);
            if (name.endsWith('-01')) counted.main += Number(summary);
          }
          if (counted.main === 0) throw new Error(`callgrind wrote no dump of the main thread into ${dir}`);
          return counted;
        },
      });
    } finally {
      await service.stop(STOP_TIMEOUT_MS);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the warm-up through `step`. A sampling mode must have exported spans by its end, or the
 * exporter's one-time start-up (it loads and compiles modules at its first export) would be
 * counted as per-unit cost.
 */
async function warmUp(mode: TracingMode, sink: OtlpSink, step: (units: number) => Promise<void>): Promise<void> {
  const exportsBefore = sink.received().requests;
  await step(WARM_UP);
  if (mode.sampled > 0 && sink.received().requests === exportsBefore)
    throw new Error(`${mode.name}: no spans exported during the warm-up of ${WARM_UP}`);
}

async function webInstructions(redis: BenchRedis, sink: OtlpSink, mode: TracingMode): Promise<Instructions> {
  return await underCallgrind(
    (wrapper) =>
      spawnWeb(
        { ...BASE_ENV, REDIS_URL: redis.url, WEB_CONCURRENCY: '1', ...mode.env(sink.url), ...EXPORT_BY_BATCH },
        { wrapper, nodeArgs: CALLGRIND_NODE_ARGS, readyTimeoutMs: READY_TIMEOUT_MS },
      ),
    async ({ service, count, read }) => {
      const requests = (count: number) =>
        runConcurrently(count, 4, async () => {
          const response = await fetch(`${service.url}/api/articles/1`);
          if (response.status !== 200) throw new Error(`GET /api/articles/1 answered ${response.status}`);
          await response.arrayBuffer();
        });
      await warmUp(mode, sink, requests);
      await count();
      await requests(MEASURED);
      return per(await read(), MEASURED);
    },
  );
}

async function workerInstructions(redis: BenchRedis, sink: OtlpSink, mode: TracingMode): Promise<Instructions> {
  const queue = new Queue('default', {
    connection: { host: redis.host, port: redis.port },
    prefix: BASE_ENV.QUEUE_PREFIX,
  });
  try {
    await queue.obliterate({ force: true });
    return await underCallgrind(
      (wrapper) =>
        spawnWorker(
          { ...BASE_ENV, REDIS_URL: redis.url, WORKER_QUEUES: 'default', ...mode.env(sink.url), ...EXPORT_BY_BATCH },
          { wrapper, nodeArgs: CALLGRIND_NODE_ARGS, readyTimeoutMs: READY_TIMEOUT_MS },
        ),
      async ({ count, read }) => {
        await warmUp(mode, sink, async (jobs) => {
          await addSleepJobs(queue, jobs);
          await drained(queue, 200);
        });
        await pausedSleepJobs(queue, MEASURED);
        await count();
        await queue.resume();
        await drained(queue, 200);
        return per(await read(), MEASURED);
      },
    );
  } finally {
    await queue.close();
  }
}

/**
 * What telemetry costs in instructions executed per request and per job, counted by callgrind:
 * unlike time, the count does not change with what else the machine is doing, so small
 * differences show on a shared, noisy machine. Each service is warmed up first and counted
 * over the measured requests or jobs only. The web serves `GET /api/articles/1`; the worker
 * drains `sleep {ms:0}` jobs enqueued without a trace (so the worker makes each job's sampling
 * decision, as for scheduled jobs; a job enqueued by a traced request follows that request's).
 */
export async function runTelemetryInstructions(): Promise<void> {
  console.log(
    `\n## Telemetry overhead in instructions: ${MEASURED} requests and jobs after a warm-up of ${WARM_UP}, ${ROUNDS} rounds\n`,
  );
  printEnvironment();
  if (!findExecutable('valgrind') || !findExecutable('callgrind_control')) {
    console.log('valgrind or callgrind_control not found (Debian: apt-get install valgrind); skipped.');
    return;
  }
  const redis = await startBenchRedis();
  // One sink each, so that each service's warm-up waits for an export of its own.
  const webSink = await startOtlpSink();
  const workerSink = await startOtlpSink();
  const web: Instructions[][] = modes.map(() => []);
  const worker: Instructions[][] = modes.map(() => []);
  try {
    // Creates the sample articles the web route reads.
    await (await spawnWeb({ ...BASE_ENV, REDIS_URL: redis.url })).stop();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [index, mode] of modes.entries()) {
        // Side by side: callgrind runs a process on one core, and the counts do not depend on
        // what else the machine runs.
        const [perRequest, perJob] = await Promise.all([
          webInstructions(redis, webSink, mode),
          workerInstructions(redis, workerSink, mode),
        ]);
        web[index]?.push(perRequest);
        worker[index]?.push(perJob);
        console.log(
          `round ${round}, ${mode.name}: ${Math.round(perRequest.all)} instructions per request (main thread ${Math.round(perRequest.main)}), ` +
            `${Math.round(perJob.all)} per job (main thread ${Math.round(perJob.main)})`,
        );
      }
    }
  } finally {
    for (const sink of [webSink, workerSink]) await new Promise((resolve) => sink.server.close(resolve));
    await redis.stop();
  }
  console.log(
    `OTLP exports received: ${webSink.received().requests} from the web, ${workerSink.received().requests} from the worker`,
  );
  const kilo = (rounds: readonly Instructions[] | undefined, thread: keyof Instructions): number =>
    median((rounds ?? []).map((r) => r[thread])) / 1000;
  const [first, ...rest] = modes.map((mode, index) => ({
    variant: mode.name,
    values: [
      kilo(web[index], 'all'),
      kilo(web[index], 'main'),
      kilo(worker[index], 'all'),
      kilo(worker[index], 'main'),
    ],
  }));
  if (!first) throw new Error('no mode measured');
  printTable({
    title: 'Telemetry on vs off, instructions executed',
    notes: [
      `callgrind instruction counts of the service process over ${MEASURED} requests or jobs after the warm-up, median of ${ROUNDS} rounds: all its threads, and its main thread alone (the helpers are V8's garbage collection and compilers, and with tracing on the span export thread).`,
      'Web: GET /api/articles/1 from 4 concurrent clients. Worker: sleep {ms:0} jobs enqueued without a trace, concurrency 20.',
      'On: traces exported over OTLP/HTTP to a sink in this process, in batches of 128 spans. Target: telemetry costs ≤ 10% (≤ 1.11× the instructions per unit).',
    ],
    metrics: [
      { name: 'web k instr/req', higherIsBetter: false, decimals: 1 },
      { name: 'main thread', higherIsBetter: false, decimals: 1 },
      { name: 'worker k instr/job', higherIsBetter: false, decimals: 1 },
      { name: 'main thread', higherIsBetter: false, decimals: 1 },
    ],
    rows: [first, ...rest],
  });
  // The modes in between differ from nothing sampled by a share of recorded traces, a few per
  // cent of a unit's count, which is of the order of the difference between two processes of
  // one mode; the two ends differ by much more, so their difference is the steadier figure.
  for (const [service, rounds] of [
    ['request', web],
    ['job', worker],
  ] as const) {
    const off = kilo(rounds[modes.indexOf(TELEMETRY_OFF)], 'all');
    const nothing = kilo(rounds[modes.indexOf(NOTHING_SAMPLED)], 'all');
    const recording = kilo(rounds[modes.indexOf(EVERY_TRACE)], 'all') - nothing;
    const projected = [0.01, 0.1]
      .map((share) => `${share * 100}% sampled ${((nothing + share * recording) / off).toFixed(2)}×`)
      .join(', ');
    console.log(
      `Recording one ${service}'s trace costs ${recording.toFixed(1)} k instructions (every trace recorded − nothing sampled); projected from that: ${projected} telemetry off.`,
    );
  }
}

if (import.meta.main) await runTelemetryInstructions();
