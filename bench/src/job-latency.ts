import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { setTimeout as wait } from 'node:timers/promises';
import { LOAD_TEST_ENV, spawnService, spawnWeb, spawnWorker, type ServiceHandle } from '@flotilla/testkit';
import { Redis } from 'ioredis';
import { median, printEnvironment, printTable, startBenchRedis, type BenchRedis } from './harness/index.js';

// Jobs per second submitted over HTTP; the highest is past what this 2-core machine holds for
// some variants, which the table then says.
const RATES = [200, 1000, 3000] as const;
const WARMUP_SECONDS = 1;
const MEASURED_SECONDS = 5;
// One round at 3,000 jobs/s moved the same code's p99 by 2.4× between two runs: medians of rounds.
const ROUNDS = 3;
const SLEEP_INPUT = JSON.stringify({ ms: 0, steps: 1 });
// The open-loop sender fell behind its schedule by more than this: the rate was not offered.
const MAX_SENDER_LAG_MS = 50;
const BARE_SERVER = fileURLToPath(new URL('./bare-submit-server.js', import.meta.url));
const PEER_SERVER = fileURLToPath(new URL('./peer-submit-server.js', import.meta.url));
const BARE_WORKER = fileURLToPath(new URL('./bare-worker.js', import.meta.url));
// Finished jobs kept beyond the default 10,000, so that every job of a round can be read back.
const FLOTILLA_RETENTION_COUNT = '100000';

/** A web and a worker, started afresh for each rate. */
interface Variant {
  readonly name: string;
  start(redis: BenchRedis, prefix: string): Promise<{ web: ServiceHandle; worker: ServiceHandle }>;
}

const rawBullMq = (name: string, jobOptions: Record<string, string> = {}): Variant => ({
  name,
  start: async (redis, prefix) => {
    const env = { REDIS_URL: redis.url, QUEUE_PREFIX: prefix, ...jobOptions };
    const [web, worker] = await Promise.all([
      spawnService({ entry: BARE_SERVER, env }),
      spawnService({ entry: BARE_WORKER, env }),
    ]);
    return { web, worker };
  },
});

const variants: readonly [Variant, ...Variant[]] = [
  rawBullMq('raw BullMQ: node:http + queue.add, plain Worker'),
  rawBullMq('raw BullMQ again (noise floor)'),
  // The same jobs as Flotilla's, retention kept as high as its variant's: what BullMQ itself spends on them.
  rawBullMq("raw BullMQ, Flotilla's job options", {
    FLOTILLA_JOB_OPTIONS: 'true',
    JOB_RETENTION_COUNT: FLOTILLA_RETENTION_COUNT,
  }),
  {
    name: 'peer: Express + express.json() + queue.add, plain Worker',
    start: async (redis, prefix) => {
      const env = { REDIS_URL: redis.url, QUEUE_PREFIX: prefix };
      const [web, worker] = await Promise.all([
        spawnService({ entry: PEER_SERVER, env }),
        spawnService({ entry: BARE_WORKER, env }),
      ]);
      return { web, worker };
    },
  },
  {
    name: 'Flotilla web + worker',
    start: async (redis, prefix) => {
      const env = {
        ...LOAD_TEST_ENV,
        REDIS_URL: redis.url,
        QUEUE_PREFIX: prefix,
        LOG_LEVEL: 'warn',
        WEB_CONCURRENCY: '1',
        JOB_RETENTION_COUNT: FLOTILLA_RETENTION_COUNT,
      };
      const [web, worker] = await Promise.all([spawnWeb(env), spawnWorker(env)]);
      return { web, worker };
    },
  },
];

/** One submission: when it was due, when its 202 came, and the job it made. */
interface Submission {
  readonly dueAt: number;
  readonly answeredAt: number;
  readonly jobId: string;
}

/** What one variant showed at one rate, in milliseconds. */
interface Latencies {
  readonly answerP99: number;
  readonly startP50: number;
  readonly startP99: number;
  readonly startMax: number;
  readonly doneP99: number;
}

/**
 * Open-loop job latency: submissions at a fixed rate over HTTP to a web, processed by a worker,
 * and how long each job waited between being enqueued and its handler starting, and until it
 * completed, from the job's own timestamps (BullMQ's `timestamp`, `processedOn`, `finishedOn`).
 * Open-loop: every request is sent when it is due, whether or not earlier ones were answered,
 * and the 202's latency counts from when it was due, so a server that slows down is charged
 * for the requests queued behind (no coordinated omission). A rate the sender could not keep
 * (lag past 50 ms) is marked as not offered.
 */
export async function runJobLatency(): Promise<void> {
  console.log(`\n## Job latency: ${RATES.join(', ')} jobs/s over HTTP for ${MEASURED_SECONDS} s each, open loop\n`);
  printEnvironment();
  const redis = await startBenchRedis();
  const reader = new Redis(redis.url);
  try {
    for (const rate of RATES) {
      const measured: number[][][] = variants.map(() => []);
      for (let round = 1; round <= ROUNDS; round++) {
        // Every other round in reverse order, so no variant always runs on a machine just warmed by another.
        const order = round % 2 === 1 ? [...variants.entries()] : [...variants.entries()].reverse();
        for (const [index, variant] of order) {
          const prefix = `{lat-${index}-${rate}}`;
          const { web, worker } = await variant.start(redis, prefix);
          try {
            await submitAtRate(`${web.url}/api/jobs/sleep`, rate, WARMUP_SECONDS);
            const submissions = await submitAtRate(`${web.url}/api/jobs/sleep`, rate, MEASURED_SECONDS);
            measured[index]?.push(figures(await latencies(reader, prefix, submissions.sent), submissions.lagMs));
          } finally {
            await Promise.all([web.stop(), worker.stop()]);
            await redis.flush();
          }
        }
      }
      const rows = variants.map((variant, index) => ({
        variant: variant.name,
        values: FIGURES.map((_, column) =>
          median((measured[index] ?? []).map((values) => values[column] ?? Number.NaN)),
        ),
      }));
      printTable({
        title: `Job latency at ${rate} jobs/s`,
        notes: [
          `${rate * MEASURED_SECONDS} jobs after ${WARMUP_SECONDS} s of warm-up; a fresh web and worker per variant and round; median of ${ROUNDS} rounds; ms.`,
          '202 p99: from when the request was due; start/done: from the job being enqueued to its handler starting / the job completing.',
          `sender lag: how far the open-loop sender fell behind its schedule (over ${MAX_SENDER_LAG_MS} ms: the rate was not offered).`,
        ],
        metrics: FIGURES.map((name) => ({ name, higherIsBetter: false })),
        rows: rows as [(typeof rows)[number], ...typeof rows],
      });
    }
  } finally {
    reader.disconnect();
    await redis.stop();
  }
}

const FIGURES = ['202 p99', 'start p50', 'start p99', 'start max', 'done p99', 'sender lag'] as const;

function figures(l: Latencies, lagMs: number): number[] {
  return [l.answerP99, l.startP50, l.startP99, l.startMax, l.doneP99, lagMs];
}

/** Sends `rate × seconds` submissions, each when it is due, and waits for every answer. */
async function submitAtRate(
  url: string,
  rate: number,
  seconds: number,
): Promise<{ sent: Submission[]; lagMs: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
  const total = rate * seconds;
  const startAt = performance.now() + 20;
  const answers: Promise<Submission>[] = [];
  let lagMs = 0;
  try {
    while (answers.length < total) {
      const now = performance.now();
      for (
        let due = startAt + (answers.length * 1000) / rate;
        answers.length < total && due <= now;
        due = startAt + (answers.length * 1000) / rate
      ) {
        lagMs = Math.max(lagMs, now - due);
        answers.push(submit(agent, url, due));
      }
      // A timer, not setImmediate: a spinning sender would take a core from the servers.
      await wait(1);
    }
    return { sent: await Promise.all(answers), lagMs: Math.round(lagMs) };
  } finally {
    agent.destroy();
  }
}

async function submit(agent: Agent, url: string, dueAt: number): Promise<Submission> {
  return await new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(SLEEP_INPUT) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const answeredAt = performance.now();
          if (res.statusCode !== 202)
            return reject(new Error(`${url} answered ${res.statusCode}: ${Buffer.concat(chunks).toString()}`));
          const { id } = JSON.parse(Buffer.concat(chunks).toString()) as { id: string | number };
          resolve({ dueAt, answeredAt, jobId: String(id) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(SLEEP_INPUT);
  });
}

/** Reads every job's timestamps once all have completed. */
async function latencies(reader: Redis, prefix: string, sent: readonly Submission[]): Promise<Latencies> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const pipeline = reader.pipeline();
    for (const { jobId } of sent)
      pipeline.hmget(`${prefix}:default:${jobId}`, 'timestamp', 'processedOn', 'finishedOn');
    const rows = ((await pipeline.exec()) ?? []).map(([error, row]) => {
      if (error) throw error;
      return (row as (string | null)[]).map(Number);
    });
    if (rows.every(([, , finishedOn]) => Number.isFinite(finishedOn) && finishedOn !== 0)) {
      const starts = rows.map(([timestamp = 0, processedOn = 0]) => processedOn - timestamp);
      const dones = rows.map(([timestamp = 0, , finishedOn = 0]) => finishedOn - timestamp);
      const answers = sent.map((s) => s.answeredAt - s.dueAt);
      return {
        answerP99: percentile(answers, 0.99),
        startP50: median(starts),
        startP99: percentile(starts, 0.99),
        startMax: Math.max(...starts),
        doneP99: percentile(dones, 0.99),
      };
    }
    if (Date.now() > deadline) throw new Error(`${prefix}: jobs still unfinished after 120 s`);
    await wait(200);
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

if (import.meta.main) await runJobLatency();
