import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { findExecutable } from '@flotilla/local-redis';
import { LOAD_TEST_ENV, spawnWeb, spawnWorker, type ServiceHandle } from '@flotilla/testkit';
import { printEnvironment, printTable, runConcurrently, startBenchRedis, startOtlpSink, TELEMETRY_OFF, TRACING_ON, type BenchRedis, type TracingMode, drained, pausedSleepJobs } from './harness/index.js';

// Two sizes of the same run: the difference is what the extra units cost, start-up and
// shutdown cancel out.
const SMALL = 300;
const LARGE = 1300;
const BASE_ENV = { ...LOAD_TEST_ENV, QUEUE_PREFIX: '{bench-instructions}', CACHE_PREFIX: 'bench-i:cache:', DATA_PREFIX: 'bench-i:data:', LOG_LEVEL: 'warn' };
// Under valgrind the services start and run about fifty times slower.
const READY_TIMEOUT_MS = 300_000;

// Recording every trace is left to the timed benchmark: its cost is not in doubt.
const modes: readonly TracingMode[] = [TELEMETRY_OFF, ...TRACING_ON.slice(0, 3)];

/** Runs a service under callgrind, lets `work` load it, stops it and answers the instructions it executed. */
async function instructions(start: (wrapper: readonly string[]) => Promise<ServiceHandle>, work: (service: ServiceHandle) => Promise<void>): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-callgrind-'));
  try {
    const service = await start(['valgrind', '--tool=callgrind', `--callgrind-out-file=${join(dir, 'out')}`]);
    await work(service);
    await service.stop(120_000);
    const collected = /Collected : (\d+)/.exec(service.logs())?.[1];
    if (collected === undefined) throw new Error(`callgrind printed no total:\n${service.logs().slice(-2000)}`);
    return Number(collected);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function webInstructions(redis: BenchRedis, env: Record<string, string>, requests: number): Promise<number> {
  return await instructions(
    (wrapper) => spawnWeb({ ...BASE_ENV, REDIS_URL: redis.url, WEB_CONCURRENCY: '1', ...env }, { wrapper, readyTimeoutMs: READY_TIMEOUT_MS }),
    async (web) => {
      await runConcurrently(requests, 4, async () => {
        const response = await fetch(`${web.url}/api/articles/1`);
        if (response.status !== 200) throw new Error(`GET /api/articles/1 answered ${response.status}`);
        await response.arrayBuffer();
      });
    },
  );
}

async function workerInstructions(redis: BenchRedis, env: Record<string, string>, jobs: number): Promise<number> {
  const queue = new Queue('default', { connection: { host: redis.host, port: redis.port }, prefix: BASE_ENV.QUEUE_PREFIX });
  try {
    // Paused until the worker is ready, so the jobs all run after start-up, in both sizes alike.
    await pausedSleepJobs(queue, jobs);
    return await instructions(
      (wrapper) => spawnWorker({ ...BASE_ENV, REDIS_URL: redis.url, WORKER_QUEUES: 'default', ...env }, { wrapper, readyTimeoutMs: READY_TIMEOUT_MS }),
      async () => {
        await queue.resume();
        await drained(queue, 200);
      },
    );
  } finally {
    await queue.close();
  }
}

/**
 * What telemetry costs in instructions executed per request and per job, counted by callgrind:
 * unlike time, the count does not change with what else the machine is doing, so small
 * differences show on a shared, noisy machine. The web serves `GET /api/articles/1`; the worker
 * drains `sleep {ms:0}` jobs enqueued without a trace.
 */
export async function runTelemetryInstructions(): Promise<void> {
  console.log(`\n## Telemetry overhead in instructions: ${LARGE - SMALL} requests and jobs (the difference of a ${LARGE}- and a ${SMALL}-unit run)\n`);
  printEnvironment();
  if (!findExecutable('valgrind')) {
    console.log('valgrind not found (Debian: apt-get install valgrind); skipped.');
    return;
  }
  const redis = await startBenchRedis();
  const sink = await startOtlpSink();
  const perRequest: number[] = [];
  const perJob: number[] = [];
  try {
    // Creates the sample articles the web route reads.
    await (await spawnWeb({ ...BASE_ENV, REDIS_URL: redis.url })).stop();
    for (const mode of modes) {
      const env = mode.env(sink.url);
      perRequest.push(((await webInstructions(redis, env, LARGE)) - (await webInstructions(redis, env, SMALL))) / (LARGE - SMALL));
      perJob.push(((await workerInstructions(redis, env, LARGE)) - (await workerInstructions(redis, env, SMALL))) / (LARGE - SMALL));
      console.log(`${mode.name}: ${Math.round(perRequest.at(-1) ?? 0)} instructions per request, ${Math.round(perJob.at(-1) ?? 0)} per job`);
    }
  } finally {
    await new Promise((resolve) => sink.server.close(resolve));
    await redis.stop();
  }
  const [first, ...rest] = modes.map((mode, index) => ({ variant: mode.name, values: [(perRequest[index] ?? 0) / 1000, (perJob[index] ?? 0) / 1000] }));
  if (!first) throw new Error('no mode measured');
  printTable({
    title: 'Telemetry on vs off, instructions executed',
    notes: [
      'callgrind instruction counts of the service process (all its threads); web: GET /api/articles/1 from 4 concurrent clients; worker: sleep {ms:0} jobs, concurrency 20.',
      'On: traces exported over OTLP/HTTP to a sink in this process. Target: telemetry costs ≤ 10% (≤ 1.11× the instructions per unit).',
    ],
    metrics: [
      { name: 'web k instr/req', higherIsBetter: false, decimals: 1 },
      { name: 'worker k instr/job', higherIsBetter: false, decimals: 1 },
    ],
    rows: [first, ...rest],
  });
}

if (import.meta.main) await runTelemetryInstructions();
