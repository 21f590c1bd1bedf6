import { setTimeout as sleep } from 'node:timers/promises';
import { startRedisServer, type RedisServer } from '@flotilla/local-redis';
import {
  LOAD_TEST_ENV,
  httpStatus,
  isolatedServiceEnv,
  spawnWeb,
  spawnWorker,
  waitFor,
  type ServiceHandle,
} from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAcceptedOrUnavailable, SubmissionLoad, type Submission } from '../support/submission-load.js';

// Redis restarts and outages under steady submissions, seen from a real web and worker.
// Pass criteria: while Redis is down every submission is answered 503 problem JSON with
// Retry-After (none hangs, no other status, no crash); both services recover by themselves; and
// every job answered 202 completes — after a SIGKILL with appendfsync everysec, all but those
// acknowledged in the last moments before the kill (measured and printed, not assumed zero).
//
// The outage lasts a few seconds here. FLOTILLA_FAULT_OUTAGE_SECONDS=3,30,120 runs the long
// outages of the reliability brief too (about 3 minutes more).
const OUTAGE_SECONDS = (process.env['FLOTILLA_FAULT_OUTAGE_SECONDS'] ?? '3').split(',').map(Number);
// Below the web's 5 s Redis command timeout: a 503 this fast comes from failing fast, not
// from waiting out a timeout. Generous, because the machine may be busy.
const ANSWER_BOUND_MS = 4000;
// everysec fsyncs once a second; allow a second more for a busy disk.
const EVERYSEC_WINDOW_MS = 2000;

let redis: RedisServer;
let web: ServiceHandle;
let worker: ServiceHandle;

beforeAll(async () => {
  redis = await startRedisServer({
    args: ['--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction'],
  });
  const env = { ...isolatedServiceEnv(redis.url), ...LOAD_TEST_ENV };
  // A job that was running when Redis went away cannot record its end; it is retried once its
  // lock expires (stalled-job recovery). Short locks keep that wait short here.
  [web, worker] = await Promise.all([
    spawnWeb(env),
    spawnWorker({ ...env, WORKER_LOCK_DURATION_MS: '5000', WORKER_STALLED_INTERVAL_MS: '2000' }),
  ]);
});

afterAll(async () => {
  await Promise.all([web?.stop(), worker?.stop()]);
  await redis?.stop();
});

interface OutageFigures {
  readonly submissions: number;
  readonly accepted: number;
  readonly lost: readonly Submission[];
  readonly first503AfterMs: number;
  readonly first202AfterRestartMs: number;
  /** From Redis being back to every accepted job completed. */
  readonly drainedAfterMs: number;
}

/** Runs steady submissions, takes Redis down with `takeDown`, keeps it down `downMs`, brings it back and checks the answers. */
async function outage(takeDown: () => Promise<void>, downMs: number): Promise<OutageFigures> {
  const load = new SubmissionLoad(web.url, { concurrency: 4, pauseMs: 10, timeoutMs: 10_000 });
  load.start();
  try {
    await load.next((s) => s.status === 202);
    await sleep(500);
    const downAt = Date.now();
    await takeDown();
    const first503 = await load.next((s) => s.status === 503, downAt);

    // While Redis is down: a fast problem answer, readiness red on both services, no crash.
    const probeStart = Date.now();
    const probe = await fetch(`${web.url}/api/jobs/sleep`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ms: 5, steps: 1 }),
      signal: AbortSignal.timeout(15_000),
    });
    expect(Date.now() - probeStart).toBeLessThan(ANSWER_BOUND_MS);
    expect(probe.status).toBe(503);
    expect(probe.headers.get('content-type')).toContain('application/problem+json');
    expect(probe.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await probe.json()).toMatchObject({ type: 'urn:flotilla:problem:service-unavailable', status: 503 });
    expect(await httpStatus(`${web.url}/readyz`, ANSWER_BOUND_MS)).toBe(503);
    expect(await httpStatus(`${worker.url}/readyz`, ANSWER_BOUND_MS)).toBe(503);
    expect(await httpStatus(`${web.url}/healthz`, ANSWER_BOUND_MS)).toBe(200);

    await sleep(Math.max(0, downAt + downMs - Date.now()));
    await redis.restart();
    const upAt = Date.now();
    const first202 = await load.next((s) => s.status === 202, upAt, 30_000);
    await waitFor(
      async () => (await httpStatus(`${web.url}/readyz`)) === 200 && (await httpStatus(`${worker.url}/readyz`)) === 200,
      {
        timeoutMs: 15_000,
        description: 'web and worker ready again',
      },
    );
    await sleep(500);
    await load.stop();

    const answers = load.submissions;
    expectAcceptedOrUnavailable(answers);
    for (const s of answers.filter((a) => a.status === 503)) {
      expect(s.problemType).toBe('urn:flotilla:problem:service-unavailable');
      expect(s.retryAfter).toMatch(/^\d+$/);
    }
    expect(web.logs()).not.toMatch(/"level":(50|60)/);

    // Every accepted job either completes or, only after a SIGKILL, was lost with the kill.
    const accepted = answers.filter((s) => s.status === 202);
    const lost = await load.lostAccepted();
    const drainedAfterMs = Date.now() - upAt;
    for (const s of lost)
      expect(downAt - s.answeredAt, `job ${s.id} lost although acknowledged long before the fault`).toBeLessThan(
        EVERYSEC_WINDOW_MS,
      );
    return {
      submissions: answers.length,
      accepted: accepted.length,
      lost,
      first503AfterMs: first503.answeredAt - downAt,
      first202AfterRestartMs: first202.answeredAt - upAt,
      drainedAfterMs,
    };
  } finally {
    await load.stop();
  }
}

function report(label: string, figures: OutageFigures): void {
  const lostWindow =
    figures.lost.length > 0
      ? Math.max(...figures.lost.map((s) => s.answeredAt)) - Math.min(...figures.lost.map((s) => s.answeredAt))
      : 0;
  console.log(
    `[redis-faults] ${label}: ${figures.submissions} submissions, ${figures.accepted} accepted, ${figures.lost.length} accepted jobs lost` +
      ` (window ${lostWindow} ms); first 503 ${figures.first503AfterMs} ms after the fault; first 202 ${figures.first202AfterRestartMs} ms after Redis was back; all accepted jobs done ${figures.drainedAfterMs} ms after it`,
  );
}

function stillRunning(service: ServiceHandle): Promise<boolean> {
  return Promise.race([service.exited.then(() => false), sleep(0, true)]);
}

describe('Redis restarts under load (appendonly yes, appendfsync everysec)', () => {
  it('graceful restart: 503 while down, both services recover, no accepted job is lost', async () => {
    const figures = await outage(() => redis.kill('SIGTERM'), 0);
    report('graceful restart', figures);
    expect(figures.lost).toEqual([]);
    expect(await stillRunning(web)).toBe(true);
    expect(await stillRunning(worker)).toBe(true);
  }, 120_000);

  it.each(OUTAGE_SECONDS)(
    'an outage of %i s: 503 while down, both services recover, no accepted job is lost',
    async (seconds) => {
      const figures = await outage(() => redis.kill('SIGTERM'), seconds * 1000);
      report(`${seconds} s outage`, figures);
      expect(figures.lost).toEqual([]);
      expect(await stillRunning(web)).toBe(true);
      expect(await stillRunning(worker)).toBe(true);
    },
    Math.max(...OUTAGE_SECONDS) * 1000 + 120_000,
  );

  it('SIGKILL of Redis: 503 while down, both services recover, only the last moments before the kill may be lost', async () => {
    const figures = await outage(() => redis.kill('SIGKILL'), 1000);
    report('SIGKILL with appendfsync everysec', figures);
    expect(await stillRunning(web)).toBe(true);
    expect(await stillRunning(worker)).toBe(true);
  }, 120_000);
});
