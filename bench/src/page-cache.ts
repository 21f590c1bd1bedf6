import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOAD_TEST_ENV, spawnService, spawnWeb, type ServiceHandle } from '@flotilla/testkit';
import {
  cacheArticlePage,
  hasWrk,
  measureHttp,
  measureWrk,
  median,
  pinToCpu,
  printEnvironment,
  printTable,
  startBenchRedis,
  withCpu,
  type HttpLoadResult,
} from './harness/index.js';

// Sized for a 2-core machine that also runs the server, Redis and the load generator.
const CONNECTIONS = 32;
const WARMUP_SECONDS = 2;
const DURATION_SECONDS = 5;
// Rounds alternate the variants, so a burst of other work on the machine hits them alike.
const ROUNDS = 3;
const PAGE_BYTES = 10 * 1024;
const BARE_SERVER = fileURLToPath(new URL('./bare-page-server.js', import.meta.url));
// Long-lived servers for the pinned comparison: warmed up once, then measured in alternating rounds.
const PINNED_WARMUP_SECONDS = 5;
const PINNED_ROUNDS = 4;
const SERVER_CPU = 0;
const LOAD_CPU = 1;
const PREFIXES = {
  QUEUE_PREFIX: '{bench-pages}',
  CACHE_PREFIX: 'bench:cache:',
  DATA_PREFIX: 'bench:data:',
  LOG_LEVEL: 'warn',
};

interface Variant {
  readonly name: string;
  start(): Promise<ServiceHandle>;
}

/**
 * Requests per second of a full-page-cached 10 KB article page served by the real web service
 * (from its in-memory tier, in front of Express) against a bare node:http server returning the
 * same bytes, and against the same page rendered by Express on every request (cache off).
 */
export async function runPageCache(): Promise<void> {
  console.log(
    `\n## Full-page cache: GET of a ${PAGE_BYTES / 1024} KB page, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION_SECONDS} s\n`,
  );
  printEnvironment();
  const redis = await startBenchRedis();
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-'));
  try {
    const env = { ...LOAD_TEST_ENV, REDIS_URL: redis.url, ...PREFIXES };
    const { path, bytes, headers } = await preparePage(env);
    const pageFile = join(dir, 'page.html');
    writeFileSync(pageFile, bytes);
    const headersFile = join(dir, 'headers.json');
    writeFileSync(headersFile, JSON.stringify(headers));
    console.log(`page: ${path}, ${bytes.length} bytes, ${headers.length} headers`);

    // The baseline sends the web's very bytes: the same body and the same headers.
    const sameBytes = (name: string): Variant => ({
      name,
      start: () =>
        spawnService({
          entry: BARE_SERVER,
          env: { PAGE_FILE: pageFile, PAGE_HEADERS_FILE: headersFile },
          readyPath: '/',
        }),
    });
    const baseline = sameBytes('bare node:http, same bytes');
    const noiseFloor = sameBytes('bare node:http, same bytes again (noise floor)');
    const hit: Variant = { name: 'Flotilla web, cached page (HIT)', start: () => spawnWeb(env) };
    const twoHeaders: Variant = {
      name: 'bare node:http, same body, two headers',
      start: () => spawnService({ entry: BARE_SERVER, env: { PAGE_FILE: pageFile }, readyPath: '/' }),
    };
    const variants: readonly [Variant, ...Variant[]] = [
      baseline,
      noiseFloor,
      hit,
      twoHeaders,
      {
        name: 'Flotilla web, cache off (Express renders)',
        start: () => spawnWeb({ ...env, PAGE_CACHE_TTL_SECONDS: '0' }),
      },
    ];
    const measured: HttpLoadResult[][] = variants.map(() => []);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [index, variant] of variants.entries()) {
        const service = await variant.start();
        try {
          measured[index]?.push(
            await measureHttp({
              url: service.url + path,
              durationSeconds: DURATION_SECONDS,
              warmupSeconds: WARMUP_SECONDS,
              connections: CONNECTIONS,
            }),
          );
        } finally {
          await service.stop();
        }
      }
    }
    const rows = variants.map((variant, index) => {
      const results = measured[index] ?? [];
      return {
        variant: variant.name,
        values: [
          median(results.map((r) => r.requestsPerSecond)),
          median(results.map((r) => r.latencyMs.p50)),
          median(results.map((r) => r.latencyMs.p99)),
        ],
      };
    });
    printTable({
      title: 'Cached page vs bare node:http',
      notes: [
        `A fresh server process per round, warmed up for ${WARMUP_SECONDS} s; median of ${ROUNDS} rounds. Target: the cached page at ≥ 0.90× the bare server sending the same bytes.`,
      ],
      metrics: [
        { name: 'req/s', higherIsBetter: true },
        { name: 'p50 ms', higherIsBetter: false },
        { name: 'p99 ms', higherIsBetter: false },
      ],
      rows: rows as [(typeof rows)[number], ...typeof rows],
    });
    await comparePinned([baseline, noiseFloor, hit, twoHeaders], path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await redis.stop();
  }
}

/** One load generator of the pinned comparison. */
interface Generator {
  readonly name: string;
  /** Loads `url` from the load CPU; the generator's own CPU seconds come back with the figures. */
  load(
    url: string,
    durationSeconds: number,
  ): Promise<{ requestsPerSecond: number; requests: number; p99: number; generatorCpuSeconds: number }>;
}

const wrk: Generator = {
  name: 'wrk',
  load: async (url, durationSeconds) => {
    const result = await measureWrk({ url, durationSeconds, connections: CONNECTIONS, cpu: LOAD_CPU });
    return { ...result, p99: result.latencyMs.p99 };
  },
};

// autocannon runs in this process, which is pinned to the load CPU for the comparison.
const autocannon: Generator = {
  name: 'autocannon',
  load: async (url, durationSeconds) => {
    const before = process.cpuUsage();
    const result = await measureHttp({ url, durationSeconds, warmupSeconds: 0, connections: CONNECTIONS });
    const used = process.cpuUsage(before);
    return { ...result, p99: result.latencyMs.p99, generatorCpuSeconds: (used.user + used.system) / 1e6 };
  },
};

/**
 * The cached page against the bare server on long-lived, warmed-up processes, each pinned to one
 * core with the load generator (and this process) on the other, measured with wrk and with
 * autocannon in alternating rounds. Besides req/s, the server's and the generator's CPU time per
 * request: when the generator costs more per request than the server, it is the bottleneck and
 * the two servers' rates converge, whatever their own costs.
 */
async function comparePinned(contenders: readonly [Variant, ...Variant[]], path: string): Promise<void> {
  const generators: readonly [Generator, ...Generator[]] = (await hasWrk()) ? [wrk, autocannon] : [autocannon];
  if (generators.length === 1)
    console.log('\nwrk is not installed (apt-get install wrk): the pinned comparison runs with autocannon only.');
  if (!(await pinToCpu(process.pid, LOAD_CPU)))
    console.log('\nNo second CPU or no taskset: the pinned comparison runs unpinned.');
  const servers: ServiceHandle[] = [];
  try {
    for (const contender of contenders) {
      const server = await contender.start();
      servers.push(server);
      await pinToCpu(server.pid, SERVER_CPU);
      await generators[0].load(server.url + path, PINNED_WARMUP_SECONDS);
    }
    const figures = generators.map(() => servers.map(() => [] as number[][]));
    for (let round = 1; round <= PINNED_ROUNDS; round++) {
      for (const [g, generator] of generators.entries()) {
        for (const [s, server] of servers.entries()) {
          const r = await withCpu(server.pid, () => generator.load(server.url + path, DURATION_SECONDS));
          figures[g]?.[s]?.push([
            r.requestsPerSecond,
            r.p99,
            (r.cpuSeconds * 1e6) / r.requests,
            (r.generatorCpuSeconds * 1e6) / r.requests,
          ]);
        }
      }
    }
    for (const [g, generator] of generators.entries()) {
      const rows = contenders.map((variant, s) => {
        const rounds = figures[g]?.[s] ?? [];
        return {
          variant: variant.name,
          values: [0, 1, 2, 3].map((column) => median(rounds.map((values) => values[column] ?? NaN))),
        };
      });
      printTable({
        title: `Cached page vs bare node:http, pinned, ${generator.name}`,
        notes: [
          `Long-lived servers on CPU ${SERVER_CPU}, warmed up for ${PINNED_WARMUP_SECONDS} s; ${generator.name} on CPU ${LOAD_CPU}; median of ${PINNED_ROUNDS} alternating rounds of ${DURATION_SECONDS} s.`,
          'Server and generator CPU: user + system time per request over the round (/proc for the server).',
        ],
        metrics: [
          { name: 'req/s', higherIsBetter: true },
          { name: 'p99 ms', higherIsBetter: false },
          { name: 'server CPU µs/req', higherIsBetter: false },
          { name: 'generator CPU µs/req', higherIsBetter: false },
        ],
        rows: rows as [(typeof rows)[number], ...typeof rows],
      });
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

// Headers Node writes itself on every response; the bare server gets them from Node as well.
const NODE_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

/** Creates an article whose page is about PAGE_BYTES and returns its path, cached bytes and headers. */
async function preparePage(
  env: Record<string, string>,
): Promise<{ path: string; bytes: Buffer; headers: [string, string][] }> {
  const web = await spawnWeb(env);
  try {
    const paragraph = 'Stateless processes scale sideways; the cache keeps them fast. ';
    const body = Array.from({ length: Math.ceil(PAGE_BYTES / paragraph.length) }, () => paragraph)
      .join('')
      .slice(0, PAGE_BYTES - 1500);
    const { path, hit } = await cacheArticlePage(web.url, 'A ten kilobyte page', body);
    const headers = [...hit.headers].filter(([name]) => !NODE_HEADERS.has(name));
    return { path, bytes: Buffer.from(await hit.arrayBuffer()), headers };
  } finally {
    await web.stop();
  }
}

if (import.meta.main) await runPageCache();
