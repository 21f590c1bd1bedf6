import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConsumerWorker,
  JobCatalog,
  createJobProcessor,
  defineHandler,
  defineJob,
  defineQueue,
  type JobView,
} from '@flotilla/queue';
import { createRedis } from '@flotilla/redis';
import { isolatedServiceEnv, spawnWorker, uniqueQueuePrefix, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { openTallyHarness, type TallyHarness } from './tally-harness.js';

const started: ServiceHandle[] = [];
let harness: TallyHarness;
let worker: ServiceHandle;
const env = { ...isolatedServiceEnv(inject('redisUrl')), WORKER_QUEUES: 'default,cpu' };

beforeAll(async () => {
  harness = await openTallyHarness(env.REDIS_URL, env.QUEUE_PREFIX, env.DATA_PREFIX);
  worker = await spawnWorker(env);
  started.push(worker);
});

afterAll(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
  await harness.close();
});

async function finished(id: string, timeoutMs: number): Promise<JobView> {
  // waitFor resolves only with a truthy value.
  return (await waitFor(
    async () => {
      const view = await harness.find(id);
      return view && (view.state === 'completed' || view.state === 'failed') ? view : undefined;
    },
    { timeoutMs, intervalMs: 100, description: `job ${id} finished` },
  )) as JobView;
}

// CPU seconds the process has used (user + system), from /proc: a thread left spinning shows here.
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

describe('per-type job timeouts', () => {
  it('a slow inline job is aborted at its 3 s timeout, retried, and ends failed instead of staying active', async () => {
    const id = await harness.enqueue('slow', 60_000);
    const view = await finished(id, 30_000);
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 3 });
    expect(view.error).toMatch(/ran longer than its 3000 ms timeout/);
    // The handler heeded its signal: the aborted attempts never reached the effect.
    expect((await harness.effects('slow')).runs.size).toBe(0);
    expect((await harness.counts()).active).toBe(0);
  });

  it('a job within its timeout completes as before', async () => {
    const id = await harness.enqueue('quick', 200);
    expect(await finished(id, 15_000)).toMatchObject({ state: 'completed', attemptsMade: 1 });
  });

  it('a stuck CPU-bound job has its worker thread terminated at the timeout, ends failed, and leaves nothing spinning', async () => {
    const { id } = await harness.producer.enqueue('spin', { ms: 600_000 });
    const view = await finished(id, 30_000);
    expect(view).toMatchObject({ state: 'failed', attemptsMade: 2 });
    expect(view.error).toMatch(/ran longer than its 2000 ms timeout/);
    const counts = await harness.producer.queue('cpu').getJobCounts('active');
    expect(counts['active']).toBe(0);
    // Two terminated threads would burn two cores; the idle process uses a small fraction of one.
    const before = await cpuSeconds(worker.pid);
    await sleep(2000);
    expect((await cpuSeconds(worker.pid)) - before).toBeLessThan(1);
    // The pool replaces terminated threads: the queue still works.
    const fib = await harness.producer.enqueue('fib', { n: 10 });
    expect(await finished(fib.id, 15_000)).toMatchObject({ state: 'completed' });
  });
});

describe('per-type job timeouts, in process', () => {
  it('an inline handler that ignores its signal and never settles still has its attempts failed at the timeout; the job ends failed', async () => {
    const queue = defineQueue({
      name: 'stuck',
      description: 'a handler that never settles',
      concurrency: 1,
      processor: 'inline',
    });
    const stuckJob = defineJob({
      name: 'stuck',
      queue: queue.name,
      description: 'never settles and ignores its signal',
      input: z.strictObject({}),
      result: z.object({}),
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 50, jitter: 0 } },
      timeoutMs: 500,
    });
    const catalog = new JobCatalog([queue], [stuckJob]);
    const processor = createJobProcessor(
      catalog,
      [queue.name],
      [defineHandler(stuckJob, () => new Promise<never>(() => undefined))],
    );
    const prefix = uniqueQueuePrefix();
    const workerConnection = createRedis({ url: inject('redisUrl'), role: 'consumer' });
    const queueConnection = createRedis({ url: inject('redisUrl'), role: 'consumer' });
    const worker = new ConsumerWorker(queue.name, processor, {
      connection: workerConnection,
      prefix,
      timeoutOf: () => 500,
    });
    const jobs = new Queue(queue.name, { connection: queueConnection, prefix });
    try {
      const job = await jobs.add(stuckJob.name, {}, { attempts: 2, backoff: { type: 'fixed', delay: 50 } });
      await waitFor(async () => (await jobs.getJobState(job.id ?? '')) === 'failed', {
        timeoutMs: 15_000,
        description: 'stuck job failed',
      });
      const failed = await jobs.getJob(job.id ?? '');
      expect(failed?.attemptsMade).toBe(2);
      expect(failed?.failedReason).toMatch(/ran longer than its 500 ms timeout/);
      expect(await jobs.getJobCounts('active')).toEqual({ active: 0 });
    } finally {
      await worker.close(true);
      await jobs.close();
      await Promise.all([workerConnection.quit(), queueConnection.quit()]);
    }
  });
});
