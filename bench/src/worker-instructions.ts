import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findExecutable } from '@flotilla/local-redis';
import { createRedis } from '@flotilla/redis';
import {
  CALLGRIND_NODE_ARGS,
  printEnvironment,
  printTable,
  runConcurrently,
  startBenchRedis,
  type BenchRedis,
} from './harness/index.js';
import { drain, flotillaNoOp, rawBullmq, rawWorkerOnFlotillaJobs } from './job-variants.js';

// Two sizes of the same drain: the difference is what the extra jobs cost, start-up and
// shutdown cancel out.
const SMALL = 300;
const LARGE = 2300;
const PREFIX = '{bench-worker-instructions}';
// Under valgrind a worker runs some fifty times slower.
const DRAIN_TIMEOUT_MS = 600_000;

// The baseline first. The child is told its variant by index in this list.
const compared = [rawWorkerOnFlotillaJobs, flotillaNoOp, rawBullmq];

/** What one drain of `jobs` jobs cost, in the worker's instructions and Redis commands. */
interface DrainCost {
  readonly instructions: number;
  readonly redisCommands: number;
}

/** Total calls of every command since the last CONFIG RESETSTAT, the INFO calls themselves left out. */
async function redisCommandCalls(redis: BenchRedis, reset: boolean): Promise<number> {
  const client = createRedis({ url: redis.url, role: 'consumer', connectionName: 'flotilla:bench:commandstats' });
  try {
    if (reset) await client.config('RESETSTAT');
    const stats = await client.info('commandstats');
    return [...stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)]
      .filter(([, name]) => name !== 'info' && !name?.startsWith('config'))
      .reduce((sum, [, , calls]) => sum + Number(calls), 0);
  } finally {
    await client.quit();
  }
}

/** Enqueues `jobs` jobs of the variant, then lets a worker process under callgrind drain them. */
async function drainCost(redis: BenchRedis, variantIndex: number, jobs: number): Promise<DrainCost> {
  const variant = compared[variantIndex];
  if (!variant) throw new Error(`no variant ${variantIndex}`);
  await redis.flush();
  const setup = await variant.setUp(redis, PREFIX);
  try {
    await runConcurrently(jobs, 32, () => setup.enqueue());
  } finally {
    await setup.close();
  }
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-callgrind-'));
  try {
    const before = await redisCommandCalls(redis, true);
    const { stderr } = await promisify(execFile)(
      'valgrind',
      [
        '--tool=callgrind',
        `--callgrind-out-file=${join(dir, 'out')}`,
        process.execPath,
        ...CALLGRIND_NODE_ARGS,
        fileURLToPath(import.meta.url),
        'drain',
        String(variantIndex),
        String(jobs),
        redis.url,
      ],
      { timeout: DRAIN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
    );
    const collected = /Collected : (\d+)/.exec(stderr)?.[1];
    if (collected === undefined) throw new Error(`callgrind printed no total:\n${stderr.slice(-2000)}`);
    return { instructions: Number(collected), redisCommands: (await redisCommandCalls(redis, false)) - before };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The child: drains `jobs` jobs with one variant's worker, then exits. */
async function drainInThisProcess(variantIndex: number, jobs: number, url: string): Promise<void> {
  const variant = compared[variantIndex];
  if (!variant) throw new Error(`no variant ${variantIndex}`);
  const { hostname, port } = new URL(url);
  const setup = await variant.setUp({ url, host: hostname, port: Number(port) }, PREFIX);
  try {
    await drain(setup, jobs);
  } finally {
    await setup.close();
  }
}

/**
 * The worker's cost per job in instructions executed, counted by callgrind, and in Redis
 * commands: unlike jobs per second, neither changes with what else the machine is doing, so a
 * difference of a few per cent shows on a shared, noisy machine.
 */
export async function runWorkerInstructions(): Promise<void> {
  console.log(
    `\n## Worker cost per job in instructions: ${LARGE - SMALL} sleep jobs (the difference of a ${LARGE}- and a ${SMALL}-job drain)\n`,
  );
  printEnvironment();
  if (!findExecutable('valgrind')) {
    console.log('valgrind not found (Debian: apt-get install valgrind); skipped.');
    return;
  }
  const redis = await startBenchRedis();
  const perJob: DrainCost[] = [];
  try {
    for (const [index, variant] of compared.entries()) {
      const [small, large] = [await drainCost(redis, index, SMALL), await drainCost(redis, index, LARGE)];
      perJob.push({
        instructions: (large.instructions - small.instructions) / (LARGE - SMALL),
        redisCommands: (large.redisCommands - small.redisCommands) / (LARGE - SMALL),
      });
      console.log(
        `${variant.name}: ${Math.round(perJob.at(-1)?.instructions ?? 0)} instructions and ${perJob.at(-1)?.redisCommands.toFixed(2)} Redis commands per job`,
      );
    }
  } finally {
    await redis.stop();
  }
  const [first, ...rest] = compared.map((variant, index) => ({
    variant: variant.name,
    values: [(perJob[index]?.instructions ?? 0) / 1000, perJob[index]?.redisCommands ?? 0],
  }));
  if (!first) throw new Error('no variant measured');
  printTable({
    title: 'Worker cost per job, instructions executed',
    notes: [
      "callgrind instruction counts of the worker process (all its threads), one worker at the default queue's concurrency; Redis commands from its commandstats.",
      "Target: Flotilla's worker ≥ 0.90× the throughput of a raw BullMQ Worker on the same jobs, i.e. ≤ 1.11× its instructions per job where the worker's CPU is the limit.",
    ],
    metrics: [
      { name: 'k instr/job', higherIsBetter: false, decimals: 1 },
      { name: 'Redis commands/job', higherIsBetter: false, decimals: 2 },
    ],
    rows: [first, ...rest],
  });
}

if (import.meta.main) {
  const [mode, variantIndex, jobs, url] = process.argv.slice(2);
  if (mode === 'drain' && url !== undefined) await drainInThisProcess(Number(variantIndex), Number(jobs), url);
  else await runWorkerInstructions();
}
