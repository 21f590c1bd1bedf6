import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Cache } from '@flotilla/cache';
import { SharedSubscriber, createRedis, waitForReady, type RedisClient } from '@flotilla/redis';
import { median, printEnvironment, printTable, startBenchRedis } from './harness/index.js';

// Each variant runs this long per round; rounds alternate the variants.
const SECONDS = 2;
const ROUNDS = 3;
const FRAGMENTS = 50;
// A rendered card fragment is a few hundred bytes of HTML.
const FRAGMENT = `<article class="card">${'x'.repeat(400)}</article>`;

/** Operations per second of `op`, run one after another for SECONDS. */
async function rate(op: () => unknown): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  let count = 0;
  const started = performance.now();
  while (performance.now() < end) {
    await op();
    count++;
  }
  return count / ((performance.now() - started) / 1000);
}

async function measure(variants: readonly (() => unknown)[]): Promise<number[]> {
  const results: number[][] = variants.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, op] of variants.entries()) results[index]?.push(await rate(op));
  }
  return results.map((r) => median(r));
}

/**
 * The cache package's tiers, in one process against a private Redis: a page's 50 fragments read
 * with one getMany round trip against 50 sequential gets, and a hit from the in-process tier
 * against a hit from Redis.
 */
export async function runCacheTiers(): Promise<void> {
  console.log(`\n## Cache tiers: ${ROUNDS} rounds of ${SECONDS} s per variant, one operation at a time\n`);
  printEnvironment();
  const redis = await startBenchRedis();
  const clients: RedisClient[] = [];
  const connect = (role: 'producer' | 'subscriber'): RedisClient => {
    const client = createRedis({ url: redis.url, role });
    clients.push(client);
    return client;
  };
  const command = connect('producer');
  await waitForReady(command, 10_000);
  const prefix = `bench-${randomBytes(4).toString('hex')}:`;
  // Two instances of one cache, as two processes would hold it: with and without memory tier.
  const options = { name: 'fragments', redis: command, prefix, defaultTtlMs: 600_000 };
  const withMemory = await Cache.create<string>({
    ...options,
    subscriber: new SharedSubscriber(connect('subscriber')),
  });
  const redisOnly = await Cache.create<string>({
    ...options,
    subscriber: new SharedSubscriber(connect('subscriber')),
    l1: false,
  });
  try {
    const keys = Array.from({ length: FRAGMENTS }, (_, i) => `card:${i}`);
    await redisOnly.setMany(keys.map((key) => ({ key, value: FRAGMENT, options: { tags: [`article:${key}`] } })));
    await withMemory.getMany(keys);

    const [sequential, many] = await measure([
      async () => {
        for (const key of keys) await redisOnly.get(key);
      },
      () => redisOnly.getMany(keys),
    ]);
    printTable({
      title: `Reading a page's ${FRAGMENTS} fragments from Redis`,
      notes: ['Per page: every fragment a tagged ~420-byte string, all hits; the in-process tier off.'],
      metrics: [{ name: 'pages/s', higherIsBetter: true }],
      rows: [
        { variant: `${FRAGMENTS} sequential cache.get`, values: [sequential ?? 0] },
        { variant: `cache.getMany of ${FRAGMENTS} (one round trip)`, values: [many ?? 0] },
      ],
    });

    const [l2, l1, peek] = await measure([
      () => redisOnly.get('card:0'),
      () => withMemory.get('card:0'),
      () => withMemory.peek('card:0'),
    ]);
    printTable({
      title: 'One hit: Redis tier vs in-process tier',
      notes: ['A fresh, tagged ~420-byte entry.'],
      metrics: [{ name: 'hits/s', higherIsBetter: true }],
      rows: [
        { variant: 'cache.get, hit in Redis', values: [l2 ?? 0] },
        { variant: 'cache.get, hit in memory', values: [l1 ?? 0] },
        { variant: 'cache.peek, hit in memory (synchronous)', values: [peek ?? 0] },
      ],
    });
  } finally {
    await Promise.all([withMemory.close(), redisOnly.close()]);
    await Promise.all(clients.map((c) => c.quit()));
    await redis.stop();
  }
}

if (import.meta.main) await runCacheTiers();
