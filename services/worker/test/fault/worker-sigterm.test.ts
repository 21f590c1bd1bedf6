import { setTimeout as sleep } from 'node:timers/promises';
import { isolatedServiceEnv, spawnWorker, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { openTallyHarness, type TallyHarness } from './tally-harness.js';

const started: ServiceHandle[] = [];
const harnesses: TallyHarness[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

// Two workers on the default queue with short locks, so a job abandoned by one is recovered by
// the other in seconds.
async function twoWorkers(
  shutdownSeconds: number,
): Promise<{ harness: TallyHarness; leaving: ServiceHandle; staying: ServiceHandle }> {
  const env = {
    ...isolatedServiceEnv(inject('redisUrl')),
    WORKER_QUEUES: 'default',
    WORKER_LOCK_DURATION_MS: '2000',
    WORKER_STALLED_INTERVAL_MS: '1000',
  };
  const harness = await openTallyHarness(env.REDIS_URL, env.QUEUE_PREFIX, env.DATA_PREFIX);
  harnesses.push(harness);
  const [leaving, staying] = await Promise.all([
    spawnWorker({ ...env, SHUTDOWN_TIMEOUT: String(shutdownSeconds) }),
    spawnWorker(env),
  ]);
  started.push(leaving, staying);
  return { harness, leaving, staying };
}

// Submits `perTick` jobs every 100 ms until `until` resolves; returns their ids.
async function steadyLoad(
  harness: TallyHarness,
  tally: string,
  workMs: number,
  perTick: number,
  until: Promise<unknown>,
): Promise<string[]> {
  const ids: string[] = [];
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    ids.push(...(await Promise.all(Array.from({ length: perTick }, () => harness.enqueue(tally, workMs)))));
    await sleep(100);
  }
  return ids;
}

async function allDone(harness: TallyHarness, tally: string, ids: readonly string[]): Promise<number> {
  await waitFor(async () => (await harness.counts()).completed === ids.length, {
    timeoutMs: 60_000,
    intervalMs: 250,
    description: `${ids.length} jobs completed`,
  });
  expect(await harness.counts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: ids.length, failed: 0 });
  const effects = await harness.effects(tally);
  expect(effects.applied.size).toBe(ids.length);
  expect(effects.total).toBe(ids.length);
  return effects.duplicates;
}

describe('worker SIGTERM under steady load', () => {
  it('the signalled worker finishes its in-flight jobs and exits 0; every job completes, none fails or is lost', async () => {
    const { harness, leaving } = await twoWorkers(25);
    const signalled = (async () => {
      await sleep(2000);
      leaving.signal('SIGTERM');
      expect(await leaving.exited).toEqual({ code: 0, signal: null });
      // Keep the load on a little after the exit: the remaining worker takes all of it.
      await sleep(1000);
    })();
    const ids = await steadyLoad(harness, 'drain', 150, 10, signalled);
    await signalled;
    const duplicates = await allDone(harness, 'drain', ids);
    console.log(`[figure] worker SIGTERM (drain): ${ids.length} jobs, ${duplicates} ran twice`);
    expect(duplicates).toBe(0);
  }, 120_000);

  it('jobs still running at the shutdown deadline are retried by the other worker; every job completes, none fails or is lost', async () => {
    const { harness, leaving } = await twoWorkers(1);
    const signalled = (async () => {
      await sleep(2000);
      leaving.signal('SIGTERM');
      expect((await leaving.exited).signal).toBeNull();
      await sleep(1000);
    })();
    // Each job works 2.5 s, longer than the 1 s shutdown budget, so the signal always abandons some.
    const ids = await steadyLoad(harness, 'abandon', 2500, 1, signalled);
    await signalled;
    const duplicates = await allDone(harness, 'abandon', ids);
    // BullMQ counts how often a job was found without a live lock and handed to another worker.
    const jobs = await Promise.all(ids.map((id) => harness.producer.queue('default').getJob(id)));
    const retried = jobs.filter((job) => (job?.stalledCounter ?? 0) > 0).length;
    expect(retried).toBeGreaterThan(0);
    console.log(
      `[figure] worker SIGTERM past its 1 s deadline: ${ids.length} jobs, ${retried} abandoned and retried by the other worker, ${duplicates} ran twice`,
    );
  }, 120_000);
});
