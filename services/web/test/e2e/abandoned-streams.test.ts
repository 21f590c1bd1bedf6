import { setTimeout as sleep } from 'node:timers/promises';
import { spawnWeb, spawnWorker, uniqueQueuePrefix, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { describe, expect, it } from 'vitest';
import { api } from '../support/api.js';
import { useOwnRedis } from '../support/own-redis.js';
import { parseMetrics, total } from '../support/prometheus-text.js';

// A client that leaves while its streaming or long-polling request waits on Redis must leave
// nothing behind: not its per-client stream slot, not a heartbeat or timeout timer, not a
// subscription. Redis is paused (CLIENT PAUSE) so that each request is stuck in an await when
// its client disconnects; the handler then carries on after the client has gone.

const MAX_STREAMS = 3;
const PAUSE_MS = 400;

const redis = useOwnRedis();

async function fleet(extra: Record<string, string>): Promise<{ web: ServiceHandle; jobId: string }> {
  const env = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: uniqueQueuePrefix(),
    LOG_LEVEL: 'warn',
    SSE_MAX_STREAMS_PER_CLIENT: String(MAX_STREAMS),
    SSE_HEARTBEAT_SECONDS: '1',
    DASHBOARD_ALLOW_UNAUTHENTICATED: 'true',
    ...extra,
  };
  const [web, worker] = await Promise.all([spawnWeb(env), spawnWorker(env)]);
  redis.track(web);
  redis.track(worker);
  // A delayed job: its streams and long polls would stay open for a minute.
  const submitted = await api(web.url, 'POST', '/api/jobs/sleep?delay=60000', { json: { ms: 10 } });
  expect(submitted.status).toBe(202);
  return { web, jobId: (submitted.body as { id: string }).id };
}

async function activeTimers(web: ServiceHandle): Promise<number> {
  return total(parseMetrics((await api(web.url, 'GET', '/metrics')).text), 'nodejs_active_resources', { type: 'Timeout' });
}

async function jobEventListeners(web: ServiceHandle): Promise<number> {
  const samples = parseMetrics((await api(web.url, 'GET', '/metrics')).text);
  if (!samples.some((s) => s.name === 'flotilla_job_event_listeners')) throw new Error('the web exports no flotilla_job_event_listeners');
  return total(samples, 'flotilla_job_event_listeners');
}

/** Starts a request while Redis is paused, leaves after `leaveAfterMs`, and waits out the pause. */
async function abandon(url: string, headers: Record<string, string>, leaveAfterMs: number): Promise<void> {
  await redis.admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL');
  const controller = new AbortController();
  const request = fetch(url, { headers, signal: controller.signal }).then(async (response) => {
    // Headers already sent (the dashboard stream): leave while reading the body.
    await response.body?.cancel();
  }, () => undefined);
  await sleep(leaveAfterMs);
  controller.abort();
  await request;
  await sleep(PAUSE_MS);
}

/** Every slot is free again: MAX_STREAMS streams open at once, none refused. */
async function expectAllSlotsFree(url: string): Promise<void> {
  const controllers = Array.from({ length: MAX_STREAMS }, () => new AbortController());
  try {
    const statuses = await Promise.all(controllers.map(async (c) => (await fetch(url, { signal: c.signal })).status));
    expect(statuses).toEqual(Array.from({ length: MAX_STREAMS }, () => 200));
  } finally {
    for (const c of controllers) c.abort();
  }
}

describe('requests abandoned while they wait on Redis', () => {
  for (const rateLimit of ['on', 'off'] as const) {
    // With the rate limit on, the first await is its Redis round trip; off, the route's own reads.
    it(`release their slot, timers and subscriptions (API rate limit ${rateLimit})`, async () => {
      const { web, jobId } = await fleet(rateLimit === 'on' ? {} : { RATE_LIMIT_REQUESTS: '0' });
      const events = `${web.url}/api/jobs/${jobId}/events`;
      await sleep(1500);
      const before = await activeTimers(web);
      expect(await jobEventListeners(web)).toBe(0);
      // The gauge counts a live stream, so its return to 0 below means each one was let go.
      const live = new AbortController();
      const stream = await fetch(events, { signal: live.signal });
      await waitFor(async () => (await jobEventListeners(web)) === 1, { description: 'one job event subscription' });
      live.abort();
      await stream.body?.cancel().catch(() => undefined);

      const routes = [
        { url: events, headers: {} },
        { url: events, headers: { 'last-event-id': '0-1' } },
        { url: `${web.url}/api/jobs/${jobId}?wait=30`, headers: {} },
        { url: `${web.url}/dashboard/events`, headers: {} },
      ];
      for (const route of routes) {
        for (const leaveAfterMs of [0, 20, 100]) await abandon(route.url, route.headers, leaveAfterMs);
      }

      await waitFor(async () => (await jobEventListeners(web)) === 0, { timeoutMs: 10_000, description: 'no job event subscription left' });
      await expectAllSlotsFree(events);
      // Both routes share the client's slots: the check's own event streams must be gone first.
      // Their subscriptions end in the same 'close' that frees their slots.
      await waitFor(async () => (await jobEventListeners(web)) === 0, { timeoutMs: 10_000, description: "the check's streams closed" });
      await expectAllSlotsFree(`${web.url}/dashboard/events`);
      // Each abandoned stream would have kept a heartbeat, a long poll its timeout, the dashboard
      // its refresh timer; the scrape and the fleet's own timers come and go by one or two.
      await waitFor(async () => (await activeTimers(web)) <= before + 2, {
        timeoutMs: 10_000,
        description: `timers back to ${before} (+2)`,
      }).catch(async (error: unknown) => {
        throw new Error(`${String(error)}: ${await activeTimers(web)} now`);
      });
    }, 60_000);
  }
});
