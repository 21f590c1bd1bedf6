import { setTimeout as sleep } from 'node:timers/promises';
import { startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { createRedis } from '@flotilla/redis';
import { httpStatus, isolatedServiceEnv, spawnWorker, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTallyHarness, type TallyHarness } from './tally-harness.js';

const RESUME_BOUND_MS = 10_000;
let redis: RedisServer;
let harness: TallyHarness;
let worker: ServiceHandle;

// A trickle of tally jobs, one every 100 ms, each working 300 ms so that some are always in
// flight when Redis goes; submissions fail while Redis is down, as they would for the web, and
// only the acknowledged ones are kept.
class Trickle {
  readonly acknowledged: { id: string; at: number }[] = [];
  #running = true;
  readonly #done: Promise<void>;

  constructor(h: TallyHarness, tally: string) {
    this.#done = (async () => {
      while (this.#running) {
        const id = await h.enqueue(tally, 300).catch(() => undefined);
        if (id) this.acknowledged.push({ id, at: Date.now() });
        await sleep(100);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#done;
  }
}

beforeAll(async () => {
  // Every write on disk before it is acknowledged, so a restart (even after SIGKILL) keeps the queue.
  redis = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  const env = { ...isolatedServiceEnv(redis.url), WORKER_QUEUES: 'default', WORKER_LIVENESS_TIMEOUT_SECONDS: '15' };
  harness = await openTallyHarness(redis.url, env.QUEUE_PREFIX, env.DATA_PREFIX);
  worker = await spawnWorker(env);
});

afterAll(async () => {
  await worker?.stop();
  await harness?.close();
  await redis?.stop();
});

// Milliseconds from `since` until a job acknowledged after `since` is completed.
async function resumedAfter(trickle: Trickle, since: number): Promise<number> {
  // waitFor resolves only with a truthy value.
  return (await waitFor(
    async () => {
      for (const { id, at } of trickle.acknowledged) {
        if (at < since) continue;
        const view = await harness.find(id);
        if (view?.state === 'completed' && view.finishedAt) return Date.parse(view.finishedAt) - since;
      }
      return undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, description: 'a job submitted after the restart completed' },
  )) as number;
}

describe.each([
  {
    fault: 'graceful SHUTDOWN',
    stop: async () => {
      const admin = createRedis({ url: redis.url, role: 'producer' }).on('error', () => undefined);
      await admin.call('SHUTDOWN').catch(() => undefined);
      admin.disconnect();
      await redis.kill('SIGTERM');
    },
  },
  { fault: 'SIGKILL', stop: () => redis.kill('SIGKILL') },
])('Redis $fault and restart on the same port under a trickle of jobs', ({ fault, stop }) => {
  it('the worker takes jobs again within 10 s of Redis being back, loses no acknowledged job, and stays live', async () => {
    const tally = fault === 'SIGKILL' ? 'after-kill' : 'after-shutdown';
    const trickle = new Trickle(harness, tally);
    await resumedAfter(trickle, Date.now());
    // Long enough for the clients' reconnect backoff to reach its 2 s ceiling.
    await stop();
    await sleep(5000);
    await redis.restart();
    const back = Date.now();
    const resumeMs = await resumedAfter(trickle, back);
    console.log(`[figure] worker resumed ${resumeMs} ms after Redis came back (${fault})`);
    expect(resumeMs).toBeLessThanOrEqual(RESUME_BOUND_MS);
    await trickle.stop();

    // Every acknowledged submission, from before, during and after the outage, completes once.
    const notApplied = async (): Promise<string[]> => {
      const { applied } = await harness.effects(tally);
      return trickle.acknowledged.filter(({ id }) => !applied.has(id)).map(({ id }) => id);
    };
    // A job stranded in active is taken back once its lock has expired and the stalled check
    // next runs: up to lockDuration + stalledInterval (30 s + 30 s by default) after the fault.
    await waitFor(async () => (await notApplied()).length === 0, {
      timeoutMs: 75_000,
      description: 'every acknowledged job applied',
    }).catch(() => undefined);
    // Each job left over is shown with where it is stuck.
    const leftOver = await Promise.all((await notApplied()).map(async (id) => ({ id, ...(await harness.find(id)) })));
    expect(leftOver).toEqual([]);
    expect(await httpStatus(`${worker.url}/healthz`)).toBe(200);
  }, 150_000);
});

describe('liveness of the consumer loops', () => {
  it('/healthz turns 503 when the loops get no answer from a reachable Redis for longer than WORKER_LIVENESS_TIMEOUT_SECONDS, and 200 again once they do', async () => {
    const admin = createRedis({ url: redis.url, role: 'consumer' }).on('error', () => undefined);
    try {
      expect(await httpStatus(`${worker.url}/healthz`)).toBe(200);
      // Writes (BullMQ's fetches among them) hang while PING still answers: the loop stops
      // taking jobs although Redis looks healthy, the failure a platform must restart.
      await admin.call('CLIENT', 'PAUSE', '60000', 'WRITE');
      const paused = Date.now();
      await waitFor(async () => (await httpStatus(`${worker.url}/healthz`, 2000)) === 503, {
        timeoutMs: 40_000,
        intervalMs: 500,
        description: '/healthz 503',
      });
      console.log(
        `[figure] /healthz answered 503 ${Date.now() - paused} ms after Redis stopped answering the consumer loops (WORKER_LIVENESS_TIMEOUT_SECONDS=15)`,
      );
      const body = await (await fetch(`${worker.url}/healthz`)).json();
      expect(body).toMatchObject({
        status: 'consumer stopped',
        problems: [expect.stringMatching(/queue "default" has had no answer from Redis/)],
      });
      expect(worker.logs()).toContain('liveness check failed');
      await admin.call('CLIENT', 'UNPAUSE');
      await waitFor(async () => (await httpStatus(`${worker.url}/healthz`, 2000)) === 200, {
        timeoutMs: 20_000,
        intervalMs: 250,
        description: '/healthz 200 again',
      });
      const id = await harness.enqueue('after-pause');
      await waitFor(async () => (await harness.find(id))?.state === 'completed', {
        timeoutMs: 15_000,
        description: 'a job completed after the pause',
      });
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
    }
  }, 90_000);
});
