import { setTimeout as wait } from 'node:timers/promises';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { LOAD_TEST_ENV, spawnWeb, spawnWorker, type ServiceHandle } from '@flotilla/testkit';
import { printEnvironment, processRssMiB, startBenchRedis } from './harness/index.js';

// A fixed duration of mixed traffic; SOAK_SECONDS makes it longer (e.g. 1800 for half an hour).
const SOAK_SECONDS = Number(process.env['SOAK_SECONDS'] ?? 60);
const WARMUP_SECONDS = 10;
const SSE_CLIENTS = 8;
const ENV = {
  ...LOAD_TEST_ENV,
  QUEUE_PREFIX: '{bench-soak}',
  CACHE_PREFIX: 'bench-soak:cache:',
  DATA_PREFIX: 'bench-soak:data:',
  LOG_LEVEL: 'warn',
};

/** One kind of traffic of the mix: autocannon over its own keep-alive connections. */
interface Workload {
  readonly name: string;
  readonly connections: number;
  readonly requests: autocannon.Request[];
}

const WORKLOADS: readonly Workload[] = [
  {
    name: 'cached pages (GET /articles/:id)',
    connections: 8,
    requests: [1, 2, 3].map((id) => ({ method: 'GET', path: `/articles/${id}` })),
  },
  { name: 'API reads (GET /api/articles/:id)', connections: 4, requests: [{ method: 'GET', path: '/api/articles/1' }] },
  {
    name: 'job submissions (POST /api/jobs/sleep)',
    connections: 4,
    requests: [
      {
        method: 'POST',
        path: '/api/jobs/sleep',
        headers: { 'content-type': 'application/json' },
        body: '{"ms":5,"steps":1}',
      },
    ],
  },
];

interface WorkloadResult {
  readonly name: string;
  readonly requests: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

/** What the event-stream clients did: submitted a job each, followed its stream to the end, again. */
interface StreamResult {
  streams: number;
  errors: number;
}

async function runWorkload(web: ServiceHandle, workload: Workload, seconds: number): Promise<WorkloadResult> {
  const result = await autocannon({
    url: web.url,
    connections: workload.connections,
    duration: seconds,
    requests: workload.requests,
  });
  return {
    name: workload.name,
    requests: result.requests.total,
    perSecond: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    // Refused connections, timeouts and every answer outside 2xx.
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/** A client that submits a job, reads its Server-Sent Events until the stream ends, and repeats. */
async function streamClient(web: ServiceHandle, until: number, result: StreamResult): Promise<void> {
  while (Date.now() < until) {
    try {
      const submitted = await fetch(`${web.url}/api/jobs/sleep`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"ms":200,"steps":4}',
      });
      if (submitted.status !== 202) throw new Error(`submit answered ${submitted.status}`);
      const { links } = (await submitted.json()) as { links: { events: string } };
      const events = await fetch(`${web.url}${links.events}`, { signal: AbortSignal.timeout(30_000) });
      if (events.status !== 200 || !events.body) throw new Error(`events answered ${events.status}`);
      const text = await new Response(events.body).text();
      if (!text.includes('event: completed')) throw new Error('the stream ended without the job completing');
      result.streams++;
    } catch {
      result.errors++;
    }
  }
}

/** Samples both services' memory once a second while the soak runs. */
function sampleRss(pids: readonly number[], into: Map<number, number[]>): () => void {
  const timer = setInterval(() => {
    for (const pid of pids) {
      void processRssMiB(pid).then((mib) => {
        if (mib !== undefined) into.get(pid)?.push(mib);
      });
    }
  }, 1000);
  return () => clearInterval(timer);
}

/**
 * Holds a mixed workload against one web and one worker process for a fixed time: cached pages,
 * API reads, job submissions and job event streams at once. Reports throughput, latencies and
 * errors per kind of traffic (errors must be 0), whether every accepted job was processed, and
 * both processes' memory after the warm-up against the end (it must not keep growing).
 */
export async function runSoak(): Promise<void> {
  console.log(`\n## Soak: ${SOAK_SECONDS} s of mixed traffic after ${WARMUP_SECONDS} s of warm-up\n`);
  printEnvironment();
  const redis = await startBenchRedis();
  const env = { ...ENV, REDIS_URL: redis.url };
  const [web, worker] = await Promise.all([spawnWeb(env), spawnWorker(env)]);
  const queue = new Queue('default', { connection: { host: redis.host, port: redis.port }, prefix: ENV.QUEUE_PREFIX });
  try {
    await Promise.all(WORKLOADS.map((w) => runWorkload(web, w, WARMUP_SECONDS)));
    const rss = new Map<number, number[]>([
      [web.pid, []],
      [worker.pid, []],
    ]);
    const stopSampling = sampleRss([web.pid, worker.pid], rss);
    const streams: StreamResult = { streams: 0, errors: 0 };
    const until = Date.now() + SOAK_SECONDS * 1000;
    const [results] = await Promise.all([
      Promise.all(WORKLOADS.map((w) => runWorkload(web, w, SOAK_SECONDS))),
      Promise.all(Array.from({ length: SSE_CLIENTS }, () => streamClient(web, until, streams))),
    ]);
    stopSampling();

    // Every accepted submission must be processed: wait for the queue to drain.
    const drainStarted = Date.now();
    for (;;) {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
      if ((counts['waiting'] ?? 0) + (counts['active'] ?? 0) + (counts['delayed'] ?? 0) === 0) {
        console.log(
          `Queue drained ${((Date.now() - drainStarted) / 1000).toFixed(1)} s after the load stopped; failed jobs: ${counts['failed'] ?? 0}`,
        );
        break;
      }
      if (Date.now() - drainStarted > 120_000) {
        console.log(`Queue NOT drained 120 s after the load stopped: ${JSON.stringify(counts)}`);
        break;
      }
      await wait(250);
    }

    console.log('\n| traffic | requests | per second | p50 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|---:|');
    for (const r of results)
      console.log(`| ${r.name} | ${r.requests} | ${r.perSecond.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} |`);
    console.log(
      `| job event streams (${SSE_CLIENTS} clients: submit, follow to the end) | ${streams.streams} | ${(streams.streams / SOAK_SECONDS).toFixed(1)} | – | – | ${streams.errors} |`,
    );
    const totalErrors = results.reduce((sum, r) => sum + r.errors, streams.errors);
    console.log(`\nErrors in all: ${totalErrors} (target 0)`);

    // RSS at each quarter of the run: a leak climbs quarter after quarter, a warming heap levels off.
    console.log(
      '\n| process | RSS MiB after warm-up | at 1/4 | at 1/2 | at 3/4 | at the end | max |\n|---|---:|---:|---:|---:|---:|---:|',
    );
    for (const [name, pid] of [
      ['web', web.pid],
      ['worker', worker.pid],
    ] as const) {
      const samples = rss.get(pid) ?? [];
      const at = (share: number): string =>
        (samples[Math.min(samples.length - 1, Math.floor(share * samples.length))] ?? Number.NaN).toFixed(0);
      console.log(
        `| ${name} | ${at(0)} | ${at(0.25)} | ${at(0.5)} | ${at(0.75)} | ${at(1)} | ${Math.max(...samples).toFixed(0)} |`,
      );
    }
    if (totalErrors > 0) process.exitCode = 1;
  } finally {
    await queue.close();
    await Promise.all([web.stop(), worker.stop()]);
    await redis.stop();
  }
}

if (import.meta.main) await runSoak();
