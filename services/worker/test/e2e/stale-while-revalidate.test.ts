import { ArticleFragments, ArticleStore, sampleArticles } from '@flotilla/articles';
import { Cache } from '@flotilla/cache';
import { catalog, refreshFragmentJob } from '@flotilla/jobs';
import { JobProducer } from '@flotilla/queue';
import { SharedSubscriber } from '@flotilla/redis';
import { isolatedServiceEnv, spawnWorker, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// Two "replicas" (two caches on their own connections, as two web processes have) serve a
// stale fragment while the real worker process refreshes it through the queue.
const env = isolatedServiceEnv(inject('redisUrl'));
const connections: Redis[] = [];
const caches: Cache<string>[] = [];
let producer: JobProducer;
let queue: Queue;
let store: ArticleStore;
let worker: ServiceHandle | undefined;

function connection(): Redis {
  const client = new Redis(inject('redisUrl'));
  connections.push(client);
  return client;
}

async function replica(): Promise<ArticleFragments> {
  const cache = await Cache.create<string>({
    name: 'fragments',
    redis: connection(),
    subscriber: new SharedSubscriber(connection()),
    prefix: env.CACHE_PREFIX,
  });
  caches.push(cache);
  return new ArticleFragments({
    cache,
    store,
    timings: { mostDiscussedTtlMs: 300, mostDiscussedStaleMs: 60_000 },
    requestRefresh: async (fragment) => {
      await producer.enqueue(refreshFragmentJob.name, { fragment });
    },
  });
}

async function refreshJobs(): Promise<number> {
  const jobs = await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']);
  return jobs.filter((job) => job.name === refreshFragmentJob.name).length;
}

beforeAll(async () => {
  const redis = connection();
  store = new ArticleStore({ redis, prefix: env.DATA_PREFIX });
  await store.seedOnce(sampleArticles);
  producer = new JobProducer({
    catalog,
    connection: redis,
    prefix: env.QUEUE_PREFIX,
    retention: { completedMs: 3_600_000, failedMs: 3_600_000, count: 1000, eventsMaxLen: 1000 },
    idempotencySecret: 'x'.repeat(32),
  });
  queue = new Queue('background', { connection: redis, prefix: env.QUEUE_PREFIX });
});

afterAll(async () => {
  if (worker) expect(await worker.stop()).toEqual({ code: 0, signal: null });
  await Promise.all(caches.map((c) => c.close()));
  await queue?.close();
  await producer?.close();
  await Promise.all(connections.map((c) => c.quit()));
});

describe('stale-while-revalidate through the queue', () => {
  it('serves the stale fragment at once, enqueues one refresh for many stale hits, and the worker refreshes it', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    const original = await a.mostDiscussed();
    expect(original).toContain('Most discussed');

    // A comment changes what the fragment would show; nothing invalidates it: it just goes stale.
    const [first] = await store.list(1);
    await store.addComment(first?.id ?? 1, { author: 'a', text: 'makes it discussed' });
    await new Promise((resolve) => setTimeout(resolve, 400));

    const served = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).mostDiscussed()));
    expect(new Set(served)).toEqual(new Set([original]));
    await waitFor(async () => (await refreshJobs()) > 0, { timeoutMs: 5000, description: 'a refresh job' });
    expect(await refreshJobs()).toBe(1);

    // No worker yet: the refresh waits in the queue. Start the real worker process.
    worker = await spawnWorker(env);
    await waitFor(async () => (await a.mostDiscussed()) !== original && (await b.mostDiscussed()) !== original, {
      timeoutMs: 15_000,
      description: 'the refreshed fragment on both replicas',
    });
    expect(await a.mostDiscussed()).toContain(first?.title ?? '');
    expect(await refreshJobs()).toBe(1);
  });
});
