import { fileURLToPath } from 'node:url';
import { createRedis, waitForReady } from '@flotilla/redis';
import { uniqueQueuePrefix, waitFor } from '@flotilla/testkit';
import { Queue, type ChildPool } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ConsumerWorker } from '../src/index.js';

const PROCESSOR = fileURLToPath(new URL('./fixtures/returns-input.mjs', import.meta.url));
const opened: { close(): Promise<unknown> }[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

describe('ConsumerWorker on the pinned BullMQ', () => {
  // ConsumerWorker terminates the thread of a sandboxed attempt past its timeout through
  // BullMQ's private pool (childPool, its retain and kill). bullmq is pinned to an exact version
  // for that; this fails first when an upgrade renames or drops them.
  it("still finds BullMQ's private thread pool, and runs a sandboxed job through it", async () => {
    const connection = createRedis({ url: inject('redisUrl'), role: 'consumer' }).on('error', () => undefined);
    opened.push({ close: () => connection.quit().catch(() => undefined) });
    await waitForReady(connection, 5000);
    const prefix = uniqueQueuePrefix();
    const queue = new Queue('sandboxed', { connection, prefix });
    opened.push(queue);
    const worker = new ConsumerWorker('sandboxed', PROCESSOR, {
      connection,
      prefix,
      useWorkerThreads: true,
      timeoutOf: () => 5000,
    });
    opened.push(worker);

    const pool = (worker as unknown as { childPool?: ChildPool }).childPool;
    expect(pool).toBeDefined();
    expect(typeof pool?.retain).toBe('function');
    expect(typeof pool?.kill).toBe('function');

    const job = await queue.add('echo', { answer: 42 });
    await waitFor(async () => (await queue.getJob(job.id ?? ''))?.finishedOn !== undefined, { timeoutMs: 15_000 });
    expect((await queue.getJob(job.id ?? ''))?.returnvalue).toEqual({ answer: 42 });
  });
});
