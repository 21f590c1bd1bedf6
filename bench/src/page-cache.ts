import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnService, spawnWeb, type ServiceHandle } from '@flotilla/testkit';
import { measureHttp, median, printEnvironment, printTable, startBenchRedis, type HttpLoadResult } from './harness/index.js';

// Sized for a 2-core machine that also runs the server, Redis and the load generator.
const CONNECTIONS = 32;
const WARMUP_SECONDS = 2;
const DURATION_SECONDS = 5;
// Rounds alternate the variants, so a burst of other work on the machine hits them alike.
const ROUNDS = 3;
const PAGE_BYTES = 10 * 1024;
const BARE_SERVER = fileURLToPath(new URL('./bare-page-server.js', import.meta.url));
const PREFIXES = { QUEUE_PREFIX: '{bench-pages}', CACHE_PREFIX: 'bench:cache:', DATA_PREFIX: 'bench:data:', LOG_LEVEL: 'warn' };

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
  console.log(`\n## Full-page cache: GET of a ${PAGE_BYTES / 1024} KB page, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION_SECONDS} s\n`);
  printEnvironment();
  const redis = await startBenchRedis();
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-'));
  try {
    const env = { REDIS_URL: redis.url, ...PREFIXES };
    const { path, bytes } = await preparePage(env);
    const pageFile = join(dir, 'page.html');
    writeFileSync(pageFile, bytes);
    console.log(`page: ${path}, ${bytes.length} bytes`);

    const variants: readonly [Variant, ...Variant[]] = [
      { name: 'bare node:http, same bytes', start: () => spawnService({ entry: BARE_SERVER, env: { PAGE_FILE: pageFile }, readyPath: '/' }) },
      { name: 'Flotilla web, cached page (HIT)', start: () => spawnWeb(env) },
      { name: 'Flotilla web, cache off (Express renders)', start: () => spawnWeb({ ...env, PAGE_CACHE_TTL_SECONDS: '0' }) },
    ];
    const measured: HttpLoadResult[][] = variants.map(() => []);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [index, variant] of variants.entries()) {
        const service = await variant.start();
        try {
          measured[index]?.push(
            await measureHttp({ url: service.url + path, durationSeconds: DURATION_SECONDS, warmupSeconds: WARMUP_SECONDS, connections: CONNECTIONS }),
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
        values: [median(results.map((r) => r.requestsPerSecond)), median(results.map((r) => r.latencyMs.p50)), median(results.map((r) => r.latencyMs.p99))],
      };
    });
    printTable({
      title: 'Cached page vs bare node:http',
      notes: [`A fresh server process per round, warmed up for ${WARMUP_SECONDS} s; median of ${ROUNDS} rounds. Target: the cached page at ≥ 0.80× the bare server.`],
      metrics: [
        { name: 'req/s', higherIsBetter: true },
        { name: 'p50 ms', higherIsBetter: false },
        { name: 'p99 ms', higherIsBetter: false },
      ],
      rows: rows as [(typeof rows)[number], ...typeof rows],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await redis.stop();
  }
}

/** Creates an article whose page is about PAGE_BYTES and returns its path and cached bytes. */
async function preparePage(env: Record<string, string>): Promise<{ path: string; bytes: Buffer }> {
  const web = await spawnWeb(env);
  try {
    const paragraph = 'Stateless processes scale sideways; the cache keeps them fast. ';
    const body = Array.from({ length: Math.ceil(PAGE_BYTES / paragraph.length) }, () => paragraph).join('').slice(0, PAGE_BYTES - 1500);
    const created = await fetch(`${web.url}/api/articles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'A ten kilobyte page', body }),
    });
    if (created.status !== 201) throw new Error(`creating the article answered ${created.status}: ${await created.text()}`);
    const { id } = (await created.json()) as { id: number };
    const path = `/articles/${id}`;
    await fetch(web.url + path).then((r) => r.arrayBuffer());
    const hit = await fetch(web.url + path);
    if (hit.headers.get('x-cache') !== 'HIT') throw new Error(`the page was not cached: X-Cache ${hit.headers.get('x-cache')}`);
    return { path, bytes: Buffer.from(await hit.arrayBuffer()) };
  } finally {
    await web.stop();
  }
}

if (import.meta.main) await runPageCache();
