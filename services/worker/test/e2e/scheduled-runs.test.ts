import { ConsumerWorker, JobCatalog, createJobProcessor, defineHandler, defineJob, defineQueue } from '@flotilla/queue';
import { createRedis } from '@flotilla/redis';
import { uniqueQueuePrefix, waitFor } from '@flotilla/testkit';
import { Queue } from 'bullmq';
import { describe, expect, inject, it } from 'vitest';
import { z } from 'zod';

const queue = defineQueue({ name: 'ticks', description: 'scheduled runs', concurrency: 2, processor: 'inline' });
const tickJob = defineJob({
  name: 'tick',
  queue: queue.name,
  description: 'fails its first attempt of every run, so each run is also retried',
  input: z.strictObject({}),
  result: z.object({}),
  retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 300, jitter: 0 } },
});

describe('the time a scheduled run was due', () => {
  it('is the slot of the schedule the run stands for, the same on its retry, and absent for a job added directly', async () => {
    const seen: { id: string; attempt: number; scheduledAt: number | undefined; startedAt: number }[] = [];
    const handler = defineHandler(tickJob, (_input, context) => {
      seen.push({ id: context.id, attempt: context.attempt, scheduledAt: context.scheduledAt, startedAt: Date.now() });
      if (context.attempt === 1) throw new Error('first attempts fail');
      return {};
    });
    const processor = createJobProcessor(new JobCatalog([queue], [tickJob]), [queue.name], [handler]);
    const prefix = uniqueQueuePrefix();
    const workerConnection = createRedis({ url: inject('redisUrl'), role: 'consumer' });
    const queueConnection = createRedis({ url: inject('redisUrl'), role: 'consumer' });
    const worker = new ConsumerWorker(queue.name, processor, {
      connection: workerConnection,
      prefix,
      timeoutOf: () => 5000,
    });
    const jobs = new Queue(queue.name, { connection: queueConnection, prefix });
    const every = 400;
    try {
      await jobs.upsertJobScheduler(
        'ticker',
        { every },
        { name: tickJob.name, data: {}, opts: { attempts: 2, backoff: { type: 'fixed', delay: 300 } } },
      );
      await waitFor(() => seen.filter((run) => run.attempt === 2).length >= 4, {
        timeoutMs: 20_000,
        description: 'four retried runs',
      });
      await jobs.removeJobScheduler('ticker');
      const direct = await jobs.add(tickJob.name, {}, { attempts: 2, backoff: { type: 'fixed', delay: 50 } });
      await waitFor(() => seen.some((run) => run.id === direct.id && run.attempt === 2), {
        timeoutMs: 10_000,
        description: 'the direct job retried',
      });

      const scheduled = seen.filter((run) => run.id !== direct.id);
      // The first run is due when the scheduler is created, each next one `every` ms later.
      const firstSlot = Math.min(...scheduled.map((run) => run.scheduledAt ?? Infinity));
      for (const run of scheduled) {
        expect(run.scheduledAt).toBeDefined();
        expect(((run.scheduledAt ?? 0) - firstSlot) % every).toBe(0);
        expect(run.startedAt).toBeGreaterThanOrEqual(run.scheduledAt ?? Infinity);
      }
      // A retry starts at least its backoff later but keeps the slot of its first attempt.
      const retried = scheduled.filter((run) => run.attempt === 2);
      for (const retry of retried) {
        const first = scheduled.find((run) => run.id === retry.id && run.attempt === 1);
        expect(retry.scheduledAt).toBe(first?.scheduledAt);
        expect(retry.startedAt - (retry.scheduledAt ?? 0)).toBeGreaterThanOrEqual(300);
      }
      // Every run has a slot of its own.
      const slots = retried.map((run) => run.scheduledAt);
      expect(new Set(slots).size).toBe(slots.length);
      expect(seen.filter((run) => run.id === direct.id).map((run) => run.scheduledAt)).toEqual([undefined, undefined]);
    } finally {
      await worker.close(true);
      await jobs.close();
      await Promise.all([workerConnection.quit(), queueConnection.quit()]);
    }
  });
});
