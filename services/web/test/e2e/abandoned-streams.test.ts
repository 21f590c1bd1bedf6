import { setTimeout as sleep } from 'node:timers/promises';
import { spawnWeb, spawnWorker, uniqueQueuePrefix, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../support/api.js';
import { useOwnRedis } from '../support/own-redis.js';
import { parseMetrics, total } from '../support/prometheus-text.js';
import { RedisGate } from '../support/redis-gate.js';

// A client that leaves while its streaming or long-polling request waits on Redis must leave
// nothing behind: not its per-client stream slot, not a heartbeat or timeout timer, not a
// subscription. A proxy between the web and Redis stops each request at each of its round trips
// to Redis in turn while its client disconnects; the handler then carries on after the client
// has gone.

const MAX_STREAMS = 3;
const ADMIN_TOKEN = 'abandoned-streams-admin-token-0123456789';
// A credentialed request reads the client's failed sign-ins from Redis first.
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
// A request that sends no Redis command for this long has passed all its reads.
const QUIET_MS = 1000;
const SETTLE_MS = 100;
const QUIET_BETWEEN_MS = 300;
const MAX_STEPS = 12;

const redis = useOwnRedis();

async function fleet(gate: RedisGate, extra: Record<string, string>): Promise<{ web: ServiceHandle; jobId: string }> {
  const env = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: uniqueQueuePrefix(),
    LOG_LEVEL: 'warn',
    SSE_MAX_STREAMS_PER_CLIENT: String(MAX_STREAMS),
    SSE_HEARTBEAT_SECONDS: '1',
    ADMIN_TOKEN,
    ...extra,
  };
  const [web, worker] = await Promise.all([spawnWeb({ ...env, REDIS_URL: gate.url }), spawnWorker(env)]);
  redis.track(web);
  redis.track(worker);
  // A delayed job: its streams and long polls would stay open for a minute.
  const submitted = await api(web.url, 'POST', '/api/jobs/sleep?delay=60000', { json: { ms: 10 } });
  expect(submitted.status).toBe(202);
  return { web, jobId: (submitted.body as { id: string }).id };
}

async function activeTimers(web: ServiceHandle): Promise<number> {
  return total(parseMetrics((await api(web.url, 'GET', '/metrics')).text), 'nodejs_active_resources', {
    type: 'Timeout',
  });
}

async function jobEventListeners(web: ServiceHandle): Promise<number> {
  const samples = parseMetrics((await api(web.url, 'GET', '/metrics')).text);
  if (!samples.some((s) => s.name === 'flotilla_job_event_listeners'))
    throw new Error('the web exports no flotilla_job_event_listeners');
  return total(samples, 'flotilla_job_event_listeners');
}

/**
 * Opens the request again and again, stopping it at its first, second, ... round trip to Redis on
 * the web's command connection, and leaves while it is stopped there; the gate then lets the
 * round trip through, and the handler carries on after its client has gone. The last time, the
 * request passes every round trip before the client leaves (with the headers sent, or waiting on
 * the job). Returns the command each round trip was stopped at.
 */
async function abandonAtEachRoundTrip(
  gate: RedisGate,
  url: string,
  headers: (step: number) => Record<string, string>,
  quietMs: number,
): Promise<string[]> {
  const stoppedAt: string[] = [];
  for (let step = 0; step < MAX_STEPS; step += 1) {
    // What the last abandoned request still reads must not count as this one's.
    await gate.quietFor(quietMs);
    gate.holdAfter(step);
    const controller = new AbortController();
    const request = fetch(url, { headers: headers(step), signal: controller.signal }).then(
      async (response) => {
        // Headers already sent (the streams): leave while reading the body.
        await response.body?.cancel();
      },
      () => undefined,
    );
    const held = await gate.heldWithin(QUIET_MS);
    controller.abort();
    // The web sees the socket close while its command is still held.
    await sleep(SETTLE_MS);
    gate.release();
    await request;
    if (held === undefined) return stoppedAt;
    stoppedAt.push((held.split(' ')[0] as string).toUpperCase());
  }
  throw new Error(`${url} was still sending Redis commands after ${MAX_STEPS} steps: ${stoppedAt.join(', ')}`);
}

/** Every slot is free again: MAX_STREAMS streams open at once, none refused. */
async function expectAllSlotsFree(url: string, headers: Record<string, string> = {}): Promise<void> {
  const controllers = Array.from({ length: MAX_STREAMS }, () => new AbortController());
  try {
    const statuses = await Promise.all(
      controllers.map(async (c) => (await fetch(url, { headers, signal: c.signal })).status),
    );
    expect(statuses).toEqual(Array.from({ length: MAX_STREAMS }, () => 200));
  } finally {
    for (const c of controllers) c.abort();
  }
}

interface AbandonedRoute {
  readonly name: string;
  readonly path: (jobId: string) => string;
  /** The request's headers at each step. */
  readonly headers: (step: number) => Record<string, string>;
  /** The Redis reads it must have been stopped at, in this order. */
  readonly reads: readonly string[];
  /** How long the web must have sent no command before the next step. */
  readonly quietMs: number;
}

const sameClient =
  (headers: Record<string, string> = {}) =>
  () =>
    headers;

// The job routes read the job's last event id (XREVRANGE) and its state (HGETALL), and replay
// after Last-Event-ID (XRANGE). The dashboard reads the client's failed sign-ins (MULTI), then
// its snapshot after the headers; it reuses a snapshot younger than a second, so its steps are
// spaced wider for each to read afresh.
const ROUTES: readonly AbandonedRoute[] = [
  {
    name: 'job events',
    path: (id) => `/api/jobs/${id}/events`,
    headers: sameClient(),
    reads: ['XREVRANGE', 'HGETALL'],
    quietMs: QUIET_BETWEEN_MS,
  },
  {
    name: 'job events replayed',
    path: (id) => `/api/jobs/${id}/events`,
    headers: sameClient({ 'last-event-id': '0-1' }),
    reads: ['XREVRANGE', 'HGETALL', 'XRANGE'],
    quietMs: QUIET_BETWEEN_MS,
  },
  {
    name: 'long poll',
    path: (id) => `/api/jobs/${id}?wait=20`,
    headers: sameClient(),
    reads: ['HGETALL'],
    quietMs: QUIET_BETWEEN_MS,
  },
  {
    name: 'dashboard live view',
    path: () => '/dashboard/events',
    headers: sameClient(ADMIN),
    reads: ['MULTI', 'EVALSHA'],
    quietMs: 1100,
  },
];

// The API rate limit waits for Redis (MULTI) on a client's first request in a window only, so
// each step comes from a client of its own. (It runs before the stream slot is taken; the
// routes above cover the slot.)
const NEW_CLIENT_EACH_TIME: AbandonedRoute = {
  name: 'job events from a new client',
  path: (id) => `/api/jobs/${id}/events`,
  headers: (step) => ({ 'x-forwarded-for': `198.51.100.${step + 1}` }),
  reads: ['MULTI', 'XREVRANGE', 'HGETALL'],
  quietMs: QUIET_BETWEEN_MS,
};

for (const rateLimit of ['on', 'off'] as const) {
  describe(`requests abandoned at each Redis read (API rate limit ${rateLimit})`, () => {
    let gate: RedisGate;
    let web: ServiceHandle;
    let jobId: string;
    let timersBefore: number;

    beforeAll(async () => {
      // INFO is the memory gauge's periodic read, no request's.
      gate = await RedisGate.start(redis.url, {
        gated: /^flotilla:web:\d+:command$/,
        passes: (command) => command === 'info',
      });
      ({ web, jobId } = await fleet(gate, rateLimit === 'on' ? {} : { RATE_LIMIT_REQUESTS: '0' }));
      await sleep(1500);
      timersBefore = await activeTimers(web);
      expect(await jobEventListeners(web)).toBe(0);
      // The gauge counts a live stream, so its return to 0 below means each one was let go.
      const live = new AbortController();
      const stream = await fetch(`${web.url}/api/jobs/${jobId}/events`, { signal: live.signal });
      await waitFor(async () => (await jobEventListeners(web)) === 1, { description: 'one job event subscription' });
      live.abort();
      await stream.body?.cancel().catch(() => undefined);
    }, 30_000);

    afterAll(async () => {
      // The web first: with the gate gone it would spend its shutdown reconnecting.
      await web.stop();
      await gate.close();
    });

    for (const route of rateLimit === 'on' ? [NEW_CLIENT_EACH_TIME, ...ROUTES] : ROUTES) {
      it(`${route.name}: release their slot, timers and subscriptions`, async () => {
        const stoppedAt = await abandonAtEachRoundTrip(
          gate,
          `${web.url}${route.path(jobId)}`,
          route.headers,
          route.quietMs,
        );
        expect(
          inOrderWithin(route.reads, stoppedAt),
          `stopped at ${stoppedAt.join(', ')}; expected ${route.reads.join(', ')} among them`,
        ).toBe(true);
        await expectNothingLeft(web, jobId, timersBefore);
      }, 60_000);
    }
  });
}

/** Whether `wanted` occurs in `seen` in this order, possibly with others in between. */
function inOrderWithin(wanted: readonly string[], seen: readonly string[]): boolean {
  let next = 0;
  for (const command of seen) if (command === wanted[next]) next += 1;
  return next === wanted.length;
}

/** No subscription, stream slot or timer is left of the abandoned requests. */
async function expectNothingLeft(web: ServiceHandle, jobId: string, timersBefore: number): Promise<void> {
  await waitFor(async () => (await jobEventListeners(web)) === 0, {
    timeoutMs: 10_000,
    description: 'no job event subscription left',
  });
  await expectAllSlotsFree(`${web.url}/api/jobs/${jobId}/events`);
  // Both stream routes share the client's slots: the check's own event streams must be gone
  // first. Their subscriptions end in the same 'close' that frees their slots.
  await waitFor(async () => (await jobEventListeners(web)) === 0, {
    timeoutMs: 10_000,
    description: "the check's streams closed",
  });
  await expectAllSlotsFree(`${web.url}/dashboard/events`, ADMIN);
  // Each abandoned stream would have kept a heartbeat, a long poll its timeout, the dashboard
  // its refresh timer; the scrape and the fleet's own timers come and go by one or two.
  await waitFor(async () => (await activeTimers(web)) <= timersBefore + 2, {
    timeoutMs: 10_000,
    description: `timers back to ${timersBefore} (+2)`,
  }).catch(async (error: unknown) => {
    throw new Error(`${String(error)}: ${await activeTimers(web)} now`);
  });
}
