import { spawnWeb, spawnWorker, uniqueQueuePrefix, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterEach, describe, expect, inject, it } from 'vitest';

interface JobView {
  state: string;
  progress: unknown;
  result?: unknown;
}

const started: ServiceHandle[] = [];

async function stack(
  workerEnv: Record<string, string> = {},
): Promise<{ web: ServiceHandle; worker: ServiceHandle; env: Record<string, string> }> {
  const env = { REDIS_URL: inject('redisUrl'), QUEUE_PREFIX: uniqueQueuePrefix(), LOG_LEVEL: 'warn' };
  const [web, worker] = await Promise.all([spawnWeb(env), spawnWorker({ ...env, ...workerEnv })]);
  started.push(web, worker);
  return { web, worker, env: { ...env, ...workerEnv } };
}

async function submitSleep(web: ServiceHandle, ms: number, steps: number): Promise<string> {
  const response = await fetch(`${web.url}/api/jobs/sleep`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ms, steps }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

async function job(web: ServiceHandle, id: string, wait = 0): Promise<JobView> {
  const response = await fetch(`${web.url}/api/jobs/${id}?wait=${wait}`);
  expect(response.status).toBe(200);
  return (await response.json()) as JobView;
}

async function untilRunning(web: ServiceHandle, id: string): Promise<void> {
  await waitFor(
    async () => {
      const view = await job(web, id);
      return view.state === 'active' && typeof view.progress === 'number' && view.progress > 0;
    },
    { timeoutMs: 15_000, description: `job ${id} running` },
  );
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

describe('worker lifecycle', () => {
  it('SIGTERM during a running job lets it finish, then exits 0', async () => {
    const { web, worker } = await stack();
    const id = await submitSleep(web, 2000, 4);
    await untilRunning(web, id);
    worker.signal('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(await job(web, id)).toMatchObject({ state: 'completed', progress: 100 });
  });

  it('SIGKILL mid-job loses nothing: a new worker recovers the stalled job and completes it', async () => {
    const lock = { WORKER_LOCK_DURATION_MS: '2000' };
    const { web, worker, env } = await stack(lock);
    const id = await submitSleep(web, 1500, 3);
    await untilRunning(web, id);
    expect(await worker.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    expect((await job(web, id)).state).toBe('active');
    const replacement = await spawnWorker(env);
    started.push(replacement);
    expect(await job(web, id, 20)).toMatchObject({
      state: 'completed',
      progress: 100,
      result: { sleptMs: 1500, steps: 3 },
    });
  });

  it('a job still running at the shutdown deadline is left for another worker, not lost', async () => {
    const { web, worker, env } = await stack({ SHUTDOWN_TIMEOUT: '1', WORKER_LOCK_DURATION_MS: '2000' });
    const id = await submitSleep(web, 4000, 8);
    await untilRunning(web, id);
    const signalled = Date.now();
    worker.signal('SIGTERM');
    const exit = await worker.exited;
    expect(exit.signal).toBeNull();
    // Exits on its own within its budget rather than being killed by the platform.
    expect(Date.now() - signalled).toBeLessThan(10_000);
    const replacement = await spawnWorker({ ...env, SHUTDOWN_TIMEOUT: '25' });
    started.push(replacement);
    expect(await job(web, id, 25)).toMatchObject({ state: 'completed', result: { sleptMs: 4000, steps: 8 } });
  });

  it('a second SIGTERM changes nothing: shutdown is idempotent', async () => {
    const { web, worker } = await stack();
    const id = await submitSleep(web, 1000, 2);
    await untilRunning(web, id);
    worker.signal('SIGTERM');
    worker.signal('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect((await job(web, id)).state).toBe('completed');
  });
});
