import { fileURLToPath } from 'node:url';
import { LOAD_TEST_ENV, spawnService, spawnWeb, type ServiceHandle } from '@flotilla/testkit';
import {
  measureHttp,
  median,
  printEnvironment,
  printTable,
  startBenchRedis,
  withCpu,
  type BenchRedis,
  type HttpLoadResult,
} from './harness/index.js';

// Sized for a 2-core machine that also runs Redis, the server and the load generator.
const CONNECTIONS = 32;
const WARMUP_SECONDS = 2;
const DURATION_SECONDS = 5;
// Rounds alternate the variants, so a burst of other work on the machine hits both alike.
const ROUNDS = 3;
const SLEEP_INPUT = { ms: 0, steps: 1 };
const BARE_SERVER = fileURLToPath(new URL('./bare-submit-server.js', import.meta.url));
const PEER_SERVER = fileURLToPath(new URL('./peer-submit-server.js', import.meta.url));

/** A server that takes job submissions, started afresh for each round. */
interface Variant {
  readonly name: string;
  start(redis: BenchRedis): Promise<ServiceHandle>;
}

const bare = (name: string): Variant => ({
  name,
  start: (redis) => spawnService({ entry: BARE_SERVER, env: { REDIS_URL: redis.url, QUEUE_PREFIX: '{bench-bare}' } }),
});

const variants: readonly [Variant, ...Variant[]] = [
  bare('bare node:http + raw BullMQ queue.add'),
  bare('bare node:http again (noise floor)'),
  {
    name: 'peer: Express + express.json() + queue.add',
    start: (redis) => spawnService({ entry: PEER_SERVER, env: { REDIS_URL: redis.url, QUEUE_PREFIX: '{bench-peer}' } }),
  },
  {
    name: 'Flotilla web (Express 5, JobProducer)',
    start: (redis) =>
      spawnWeb({
        ...LOAD_TEST_ENV,
        REDIS_URL: redis.url,
        QUEUE_PREFIX: '{bench-web}',
        LOG_LEVEL: 'warn',
        WEB_CONCURRENCY: '1',
      }),
  },
];

/**
 * Requests per second and latency of the built web service's POST /api/jobs/sleep against a
 * bare node:http server doing a raw BullMQ `queue.add`, each in a process of its own on the
 * same private Redis, which is flushed in between. No worker runs: the jobs just accumulate.
 */
export async function runHttpSubmit(): Promise<void> {
  console.log(
    `\n## HTTP job submission: POST /api/jobs/sleep ${JSON.stringify(SLEEP_INPUT)}, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION_SECONDS} s\n`,
  );
  printEnvironment();
  const redis = await startBenchRedis();
  const measured: Measured[][] = variants.map(() => []);
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [index, variant] of variants.entries()) {
        measured[index]?.push(await measureSubmit(await variant.start(redis)));
        await redis.flush();
      }
    }
  } finally {
    await redis.stop();
  }
  const figures = (results: readonly Measured[] | undefined): number[] => {
    if (!results) throw new Error('a variant was not measured');
    return [
      median(results.map((r) => r.requestsPerSecond)),
      median(results.map((r) => r.latencyMs.p50)),
      median(results.map((r) => r.latencyMs.p99)),
      median(results.map((r) => (r.cpuSeconds * 1e6) / r.requests)),
    ];
  };
  printTable({
    title: 'Job submission over HTTP',
    notes: [
      `A fresh server process per round, warmed up for ${WARMUP_SECONDS} s; median of ${ROUNDS} rounds.`,
      'Latency in whole milliseconds, as autocannon records it.',
      "Server CPU: the server process's user + system time over the measured part, per request (/proc).",
      'It is steadier than req/s on a shared machine: the load generator and Redis take CPU from the server unevenly.',
    ],
    metrics: [
      { name: 'req/s', higherIsBetter: true },
      { name: 'p50 ms', higherIsBetter: false },
      { name: 'p99 ms', higherIsBetter: false },
      { name: 'server CPU µs/req', higherIsBetter: false },
    ],
    rows: [
      { variant: variants[0].name, values: figures(measured[0]) },
      ...variants.slice(1).map((v, i) => ({ variant: v.name, values: figures(measured[i + 1]) })),
    ],
  });
}

type Measured = HttpLoadResult & { readonly cpuSeconds: number };

async function measureSubmit(service: ServiceHandle): Promise<Measured> {
  const load = (durationSeconds: number): Promise<HttpLoadResult> =>
    measureHttp({
      url: `${service.url}/api/jobs/sleep`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(SLEEP_INPUT),
      durationSeconds,
      warmupSeconds: 0,
      connections: CONNECTIONS,
    });
  try {
    await load(WARMUP_SECONDS);
    return await withCpu(service.pid, () => load(DURATION_SECONDS));
  } finally {
    await service.stop();
  }
}

if (import.meta.main) await runHttpSubmit();
