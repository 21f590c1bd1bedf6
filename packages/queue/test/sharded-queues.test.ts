import { createRedis, waitForReady, type RedisClient } from '@flotilla/redis';
import { createLogger } from '@flotilla/telemetry';
import { uniqueQueuePrefix, waitFor } from '@flotilla/testkit';
import { Worker } from 'bullmq';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  JobCatalog,
  JobEventHub,
  JobProducer,
  childJob,
  defineJob,
  defineQueue,
  parseJobId,
  snapshotQueue,
  type JobEvent,
} from '../src/index.js';

// A logical queue spread over three shards on one Redis: where jobs go, and that every way of
// reaching a job by its id still finds it.
const SHARDS = 3;
const retry = { attempts: 1, backoff: { type: 'fixed', delayMs: 0, jitter: 0 } } as const;
const main = defineQueue({ name: 'main', description: 'test', concurrency: 2, processor: 'inline' });
const side = defineQueue({ name: 'side', description: 'test', concurrency: 2, processor: 'inline' });
const echo = defineJob({
  name: 'echo',
  queue: 'main',
  description: 'test',
  input: z.object({ n: z.int() }),
  result: z.unknown(),
  retry,
});
const once = defineJob({
  name: 'once',
  queue: 'main',
  description: 'test',
  input: z.object({ key: z.string() }),
  result: z.unknown(),
  retry,
  deduplicationKey: ({ key }) => key,
});
const part = defineJob({
  name: 'part',
  queue: 'side',
  description: 'test',
  input: z.object({ n: z.int() }),
  result: z.unknown(),
  retry,
});
const whole = defineJob({
  name: 'whole',
  queue: 'main',
  description: 'test',
  input: z.object({ ns: z.array(z.int()) }),
  result: z.unknown(),
  retry,
  children: ({ ns }) => ns.map((n) => childJob(part, { n })),
});
const catalog = new JobCatalog([main, side], [echo, once, part, whole]);
const logger = createLogger({ service: 'web', level: 'silent' });

let redis: RedisClient;
let producer: JobProducer;
let prefix: string;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  redis = createRedis({ url: inject('redisUrl'), role: 'producer' });
  await waitForReady(redis, 5000);
  prefix = uniqueQueuePrefix();
  producer = new JobProducer({
    catalog,
    connection: redis,
    prefix,
    shards: SHARDS,
    retention: { completedMs: 60_000, failedMs: 60_000, count: 100, eventsMaxLen: 1000 },
    idempotencySecret: 's'.repeat(32),
  });
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await producer?.close();
  redis?.disconnect();
});

/** The shard (by prefix) whose `main` queue holds a job with this id. */
async function shardHolding(id: string, queue = 'main'): Promise<string[]> {
  const found: string[] = [];
  for (const shard of producer.shards.all)
    if (await redis.exists(`${shard.prefix}:${queue}:${id}`)) found.push(shard.prefix);
  return found;
}

describe('a queue spread over three shards', () => {
  it('spreads unkeyed jobs evenly and finds each by its id alone', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, (_, n) => producer.enqueue('echo', { n })));
    const perShard = new Map<string, number>();
    for (const { id } of results) {
      const [holder, ...others] = await shardHolding(id);
      expect(others).toEqual([]);
      perShard.set(String(holder), (perShard.get(String(holder)) ?? 0) + 1);
      expect(parseJobId(id)?.shardTag).toBe(producer.shards.all.find((s) => s.prefix === holder)?.tag);
      expect((await producer.find(id))?.state).toBe('waiting');
    }
    expect([...perShard.values()]).toEqual([10, 10, 10]);
    const snapshot = await snapshotQueue(producer.shardsOf('main'));
    expect(snapshot.counts.waiting).toBe(30);
    expect(snapshot.shards?.map((s) => s.counts.waiting)).toEqual([10, 10, 10]);
  });

  it('maps an idempotency key to one job on one shard, and a de-duplication key to one job', async () => {
    const first = await producer.enqueue('echo', { n: 1 }, { idempotencyKey: 'order-17' });
    const again = await producer.enqueue('echo', { n: 1 }, { idempotencyKey: 'order-17' });
    expect(again).toEqual({ ...first, created: false });
    expect(await shardHolding(first.id)).toHaveLength(1);
    const keys = await Promise.all(
      Array.from({ length: 12 }, (_, i) => producer.enqueue('echo', { n: i }, { idempotencyKey: `k-${i}` })),
    );
    expect(new Set(keys.map((k) => parseJobId(k.id)?.shardTag)).size).toBeGreaterThan(1);

    const deduplicated = await Promise.all(
      Array.from({ length: 5 }, () => producer.enqueue('once', { key: 'page-9' })),
    );
    expect(new Set(deduplicated.map((d) => d.id)).size).toBe(1);
  });

  it("keeps a flow's children on their parent's shard, where BullMQ tracks them", async () => {
    for (let i = 0; i < SHARDS; i++) {
      const { id } = await producer.enqueue('whole', { ns: [1, 2] });
      const [holder] = await shardHolding(id);
      const parent = await producer.jobById(id);
      const children = await parent?.getDependencies();
      const childIds = (children?.unprocessed ?? []).map((key) => key.slice(key.lastIndexOf(':') + 1));
      expect(childIds).toHaveLength(2);
      for (const childId of childIds) {
        expect(await shardHolding(childId, 'side')).toEqual([holder]);
        expect((await producer.find(childId))?.state).toBe('waiting');
      }
    }
  });

  it('cancels a job on any shard, and answers unknown for a tag of no shard', async () => {
    const ids = await Promise.all(Array.from({ length: SHARDS }, (_, n) => producer.enqueue('echo', { n })));
    for (const { id } of ids) expect(await producer.cancel(id)).toBe('cancelled');
    const [, second] = producer.shards.all;
    const foreign = ids[0]?.id.replace(/^main\.(?:\d+\.)?/, 'main.999999.') ?? '';
    expect(second).toBeDefined();
    expect(await producer.find(foreign)).toBeUndefined();
    expect(await producer.cancel(foreign)).toBe('not-found');
  });

  it('streams the events of a job on every shard to its followers', async () => {
    const hub = new JobEventHub({
      queues: catalog.queues.map((q) => q.name),
      shards: producer.shards,
      blocking: () => {
        const client = createRedis({ url: inject('redisUrl'), role: 'consumer' });
        closers.push(() => client.quit().catch(() => client.disconnect()));
        return client;
      },
      reader: redis,
      logger,
    });
    closers.push(() => hub.close());
    await hub.waitUntilReady();
    const workers = producer.shards.all.map((shard) => {
      const connection = createRedis({ url: inject('redisUrl'), role: 'consumer' });
      closers.push(() => connection.quit().catch(() => connection.disconnect()));
      const worker = new Worker('main', () => Promise.resolve('done'), { connection, prefix: shard.prefix });
      closers.push(() => worker.close());
      return worker;
    });
    const seen = new Map<string, JobEvent['type'][]>();
    const ids = (await Promise.all(Array.from({ length: SHARDS }, (_, n) => producer.enqueue('echo', { n })))).map(
      (r) => r.id,
    );
    for (const id of ids) hub.subscribe(id, (event) => seen.set(id, [...(seen.get(id) ?? []), event.type]));
    await Promise.all(workers.map((w) => w.waitUntilReady()));
    await waitFor(() => ids.every((id) => seen.get(id)?.includes('completed')), { timeoutMs: 10_000 });
    expect(new Set(ids.map((id) => parseJobId(id)?.shardTag)).size).toBe(SHARDS);
    for (const id of ids) expect(await hub.lastEventId(id)).not.toBe('0-0');
  });
});
