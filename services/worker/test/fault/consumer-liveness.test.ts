import { setTimeout as sleep } from 'node:timers/promises';
import { createRedis, type RedisClient } from '@flotilla/redis';
import { uniqueQueuePrefix, waitFor } from '@flotilla/testkit';
import { Queue, type Processor } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ConsumerWorker, consumerStall } from '@flotilla/queue';

const opened: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const resource of opened.splice(0).reverse()) await resource.close();
});

function connection(): RedisClient {
  const client = createRedis({ url: inject('redisUrl'), role: 'consumer' });
  opened.push({ close: async () => void (await client.quit()) });
  return client;
}

async function consumer(processor: Processor, concurrency = 1): Promise<{ worker: ConsumerWorker; queue: Queue }> {
  const prefix = uniqueQueuePrefix();
  const worker = new ConsumerWorker('liveness', processor, {
    connection: connection(),
    prefix,
    concurrency,
    timeoutOf: () => 60_000,
  });
  const queue = new Queue('liveness', { connection: connection(), prefix });
  opened.push(queue, { close: () => worker.close(true) });
  await waitFor(() => worker.isRunning(), { description: 'worker running' });
  return { worker, queue };
}

// Samples the verdict every 500 ms for `ms`; returns the first stall reported, if any.
async function stallWithin(worker: ConsumerWorker, timeoutMs: number, ms: number): Promise<string | undefined> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(500)) {
    const stall = consumerStall(worker, timeoutMs);
    if (stall) return stall;
  }
  return undefined;
}

describe('consumer liveness', () => {
  it('an idle consumer hears from Redis often enough (every blocking wait) that a 10 s stall timeout never runs out', async () => {
    const { worker } = await consumer(() => Promise.resolve({}));
    expect(await stallWithin(worker, 10_000, 12_000)).toBeUndefined();
  }, 30_000);

  it('a consumer of a queue an operator paused (the dashboard can) still hears from Redis, so the pause never restarts workers', async () => {
    const { worker, queue } = await consumer(() => Promise.resolve({}));
    await queue.pause();
    await queue.add('held', {});
    expect(await stallWithin(worker, 10_000, 12_000)).toBeUndefined();
  }, 30_000);

  it('a consumer waiting for a delayed job due much later still hears from Redis within 15 s, every blocking wait (10 s at most)', async () => {
    const { worker, queue } = await consumer(() => Promise.resolve({}));
    await queue.add('later', {}, { delay: 120_000 });
    let longest = 0;
    let last = worker.lastAnswerAt;
    for (const end = Date.now() + 25_000; Date.now() < end; await sleep(250)) {
      longest = Math.max(longest, Date.now() - last);
      if (worker.lastAnswerAt !== last) last = worker.lastAnswerAt;
    }
    console.log(`[figure] longest silence of a loop waiting for a delayed job: ${longest} ms`);
    // Below the smallest WORKER_LIVENESS_TIMEOUT_SECONDS allowed (15), or /healthz could flap.
    expect(longest).toBeLessThan(15_000);
  }, 40_000);

  it('a consumer busy with as many jobs as its concurrency is not reported however long they run', async () => {
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { worker, queue } = await consumer(() => held);
    await queue.add('long', {});
    await waitFor(() => worker.inFlight === 1, { description: 'job running' });
    expect(await stallWithin(worker, 2000, 6000)).toBeUndefined();
    release();
  }, 30_000);

  it('a consumer whose loop ended outside a shutdown is reported stopped', async () => {
    const { worker } = await consumer(() => Promise.resolve({}));
    expect(consumerStall(worker, 60_000)).toBeUndefined();
    await worker.close();
    expect(consumerStall(worker, 60_000)).toMatch(/consumer loop of queue "liveness" is not running/);
  });
});
