import { isolatedServiceEnv, spawnWorker, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openTallyHarness, type TallyHarness } from './tally-harness.js';

const JOBS = 1000;
const started: ServiceHandle[] = [];
let harness: TallyHarness;
// Short locks so the killed worker's jobs are recovered in seconds, not the default 30 s.
const env = {
  ...isolatedServiceEnv(inject('redisUrl')),
  WORKER_QUEUES: 'default',
  WORKER_LOCK_DURATION_MS: '2000',
  WORKER_STALLED_INTERVAL_MS: '1000',
};

beforeAll(async () => {
  harness = await openTallyHarness(env.REDIS_URL, env.QUEUE_PREFIX, env.DATA_PREFIX);
});

afterAll(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
  await harness.close();
});

describe('worker SIGKILL with 1,000 jobs in flight', () => {
  it('every job completes after a replacement starts, none is left active, and the idempotent effect is applied exactly once per job', async () => {
    const first = await spawnWorker(env);
    started.push(first);
    const ids: string[] = [];
    for (let batch = 0; batch < JOBS / 50; batch++) {
      ids.push(...(await Promise.all(Array.from({ length: 50 }, () => harness.enqueue('sigkill')))));
    }
    // Killed mid-stream: some jobs done, a full set of them active, most still waiting.
    await waitFor(async () => (await harness.counts()).completed >= 200, {
      timeoutMs: 60_000,
      description: '200 jobs completed',
    });
    expect(await first.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    const atKill = await harness.counts();
    expect(atKill.completed).toBeLessThan(JOBS);

    started.push(await spawnWorker(env));
    await waitFor(async () => (await harness.counts()).completed === JOBS, {
      timeoutMs: 90_000,
      intervalMs: 250,
      description: `${JOBS} jobs completed`,
    });

    expect(await harness.counts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: JOBS, failed: 0 });
    const effects = await harness.effects('sigkill');
    // Every job reached its effect at least once; some more than once (at-least-once delivery) ...
    expect([...effects.runs.keys()].sort()).toEqual([...ids].sort());
    // ... but the idempotent effect counted each job exactly once.
    expect(effects.applied.size).toBe(JOBS);
    expect(effects.total).toBe(JOBS);
    console.log(
      `[figure] worker SIGKILL: ${JOBS} jobs, ${atKill.active} active and ${atKill.waiting} waiting at the kill; ` +
        `${effects.duplicates} ran twice (effect log), effect applied exactly once for all ${effects.applied.size}`,
    );
  }, 180_000);
});
