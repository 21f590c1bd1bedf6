import { startRedisServer } from '@flotilla/local-redis';
import { createRedis, waitForReady, type RedisClient } from '@flotilla/redis';
import { uniqueQueuePrefix, waitFor } from '@flotilla/testkit';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ThroughputRecorder, readQueueThroughput } from '../src/index.js';

const MINUTE = 60_000;
const opened: { close(): Promise<unknown> }[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

async function client(url = inject('redisUrl')): Promise<RedisClient> {
  const redis = createRedis({ url, role: 'producer' }).on('error', () => undefined);
  opened.push({ close: () => redis.quit().catch(() => undefined) });
  await waitForReady(redis, 5000);
  return redis;
}

function queue(name: string, prefix: string): Queue {
  const q = new Queue(name, { connection: { url: inject('redisUrl') }, prefix });
  opened.push(q);
  return q;
}

describe('jobs finished per minute', () => {
  it('adds up what several processes record, per queue, outcome and minute, on the minutes of the window read', async () => {
    const prefix = uniqueQueuePrefix();
    // A minute boundary in the middle of the test would not move anything: every time is explicit.
    const now = Math.floor(Date.now() / MINUTE) * MINUTE + 30_000;
    const [a, b] = [new ThroughputRecorder(await client(), prefix), new ThroughputRecorder(await client(), prefix)];
    for (let i = 0; i < 3; i++) a.record('default', 'completed', now);
    b.record('default', 'completed', now - 1000);
    b.record('default', 'failed', now);
    a.record('default', 'completed', now - 2 * MINUTE);
    a.record('default', 'completed', now - 20 * MINUTE);
    b.record('cpu', 'completed', now);
    await Promise.all([a.stop(), b.stop()]);

    expect(await readQueueThroughput(queue('default', prefix), 5, now)).toEqual({
      completed: [0, 0, 1, 0, 4],
      failed: [0, 0, 0, 0, 1],
    });
    expect(await readQueueThroughput(queue('cpu', prefix), 3, now)).toEqual({
      completed: [0, 0, 1],
      failed: [0, 0, 0],
    });
    // Read a minute later, the same counts have moved one place to the left.
    expect((await readQueueThroughput(queue('default', prefix), 5, now + MINUTE)).completed).toEqual([0, 1, 0, 4, 0]);
    expect((await readQueueThroughput(queue('default', prefix), 30, now)).completed.reduce((x, y) => x + y)).toBe(6);
  });

  it('writes the first job after a quiet spell at once and the ones after it together, one write per interval', async () => {
    const prefix = uniqueQueuePrefix();
    const recorder = new ThroughputRecorder(await client(), prefix, { flushIntervalMs: 3_600_000 });
    opened.push({ close: () => recorder.stop() });
    const q = queue('default', prefix);
    const total = async (): Promise<number> => (await readQueueThroughput(q, 2)).completed.reduce((x, y) => x + y);
    recorder.record('default', 'completed');
    await waitFor(async () => (await total()) === 1, {
      timeoutMs: 5000,
      description: 'the first count written without a flush',
    });
    for (let i = 0; i < 5; i++) recorder.record('default', 'completed');
    // The next write is an hour away: only an explicit flush (as at shutdown) writes them now.
    expect(await total()).toBe(1);
    await recorder.flush();
    expect(await total()).toBe(6);
  });

  it('keeps the counts while Redis is away and writes them once it is back', async () => {
    const server = await startRedisServer();
    opened.push({ close: () => server.stop() });
    const prefix = uniqueQueuePrefix();
    const errors: Error[] = [];
    const recorder = new ThroughputRecorder(await client(server.url), prefix, {
      flushIntervalMs: 200,
      onError: (error) => errors.push(error),
    });
    opened.push({ close: () => recorder.stop() });
    await server.kill('SIGTERM');
    for (let i = 0; i < 4; i++) recorder.record('default', 'failed');
    await recorder.flush();
    expect(errors.length).toBeGreaterThanOrEqual(1);
    await server.restart();
    const reader = new Queue('default', { connection: { url: server.url }, prefix });
    opened.unshift(reader);
    // The recorder retries on its own, every interval, until the write succeeds.
    await waitFor(async () => (await readQueueThroughput(reader, 2)).failed.reduce((x, y) => x + y) === 4, {
      timeoutMs: 15_000,
      description: 'the kept counts written',
    });
  });
});
