import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { spawnWeb, spawnWorker, uniqueQueuePrefix, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, seen } from '../support/api.js';
import { undocumentedResponses } from '../support/openapi-coverage.js';
import { readSse } from '../support/sse.js';

// The web and worker run as real processes against the Redis the test run started.
let web: ServiceHandle;
let worker: ServiceHandle;
let redis: Redis;
let prefix: string;
const queues: Queue[] = [];
const anyString: unknown = expect.any(String);

interface Accepted {
  id: string;
  type: string;
  state: string;
  links: { self: string; events: string };
}
interface JobView {
  id: string;
  state: string;
  progress: unknown;
  attemptsMade: number;
  maxAttempts: number;
  result?: Record<string, unknown>;
  error?: string;
}

function fib(n: number): bigint {
  let [a, b] = [0n, 1n];
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

async function submit(
  type: string,
  input: unknown,
  headers: Record<string, string> = {},
  query = '',
): Promise<Accepted> {
  const response = await api(web.url, 'POST', `/api/jobs/${type}${query}`, { json: input, headers });
  expect(response.status, response.text).toBe(202);
  const accepted = response.body as Accepted;
  expect(response.headers.get('location')).toBe(`/api/jobs/${accepted.id}`);
  return accepted;
}

async function finished(id: string): Promise<JobView> {
  const response = await api(web.url, 'GET', `/api/jobs/${id}?wait=20`);
  expect(response.status, response.text).toBe(200);
  return response.body as JobView;
}

/**
 * Ids of the jobs stored under the test's prefix. Job ids contain a dot, queue housekeeping
 * keys do not; an active job also owns a `:lock` key, which must not count as a second job.
 */
async function jobIds(): Promise<string[]> {
  const ids = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*.*`, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) ids.add(key.slice(prefix.length + 1).split(':')[1] ?? key);
  } while (cursor !== '0');
  return [...ids].sort();
}

/** Jobs stored per queue, whatever their state: jobs of earlier tests may still change state. */
async function totals(): Promise<number[]> {
  const counts = await Promise.all(queues.map((q) => q.getJobCounts()));
  return counts.map((c) => Object.values(c).reduce((sum, n) => sum + n, 0));
}

beforeAll(async () => {
  const redisUrl = inject('redisUrl');
  prefix = uniqueQueuePrefix();
  const env = { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' };
  [web, worker] = await Promise.all([
    spawnWeb({ ...env, REQUEST_BODY_LIMIT_BYTES: '2048', SSE_HEARTBEAT_SECONDS: '1' }),
    spawnWorker(env),
  ]);
  redis = new Redis(redisUrl);
  queues.push(new Queue('default', { connection: redis, prefix }), new Queue('cpu', { connection: redis, prefix }));
});

afterAll(async () => {
  await Promise.all(queues.map((q) => q.close()));
  await redis?.quit();
  const exits = await Promise.all([web?.stop(), worker?.stop()]);
  for (const exit of exits) expect(exit).toEqual({ code: 0, signal: null });
});

describe('each example job type, submitted over HTTP and run by the worker process', () => {
  it('fib computes exactly in a worker thread', async () => {
    const { id, state } = await submit('fib', { n: 300 });
    expect(id).toMatch(/^cpu\.[A-Za-z0-9_-]{22}$/);
    expect(state).toBe('waiting');
    const job = await finished(id);
    expect(job.state).toBe('completed');
    expect(job.result).toEqual({ n: 300, digits: fib(300).toString().length, value: fib(300).toString() });
  });

  it('sleep reports progress at every step', async () => {
    const { id } = await submit('sleep', { ms: 300, steps: 3 });
    const job = await finished(id);
    expect(job).toMatchObject({ state: 'completed', progress: 100, result: { sleptMs: 300, steps: 3 } });
  });

  it('flaky is retried with backoff until it succeeds', async () => {
    const { id } = await submit('flaky', { failTimes: 2 });
    const job = await finished(id);
    expect(job).toMatchObject({ state: 'completed', result: { succeededOnAttempt: 3 }, attemptsMade: 3 });
  });

  it('flaky ends in the failed set once its attempts run out', async () => {
    const { id } = await submit('flaky', { failTimes: 10 });
    const job = await finished(id);
    expect(job).toMatchObject({ state: 'failed', attemptsMade: 4, maxAttempts: 4 });
    expect(job.error).toContain('fails on purpose');
    expect(await queues[0]?.getFailedCount()).toBeGreaterThanOrEqual(1);
  });

  it('digest runs after its fib children and combines their results in order', async () => {
    const ns = [30, 10, 20];
    const { id, state } = await submit('digest', { ns });
    expect(state).toBe('waiting-children');
    const job = await finished(id);
    const expected = createHash('sha256')
      .update(ns.map((n) => fib(n).toString()).join('\n'))
      .digest('hex');
    expect(job).toMatchObject({ state: 'completed', result: { count: 3, sha256: expected } });
  });

  it('check-url refuses the cloud metadata address without sending a packet', async () => {
    const { id } = await submit('check-url', { url: 'http://169.254.169.254/latest/meta-data/' });
    expect(id).toMatch(/^outbound\./);
    const job = await finished(id);
    expect(job).toMatchObject({ state: 'completed', result: { outcome: 'blocked', attempts: 0 } });
    expect(job.result?.['error']).toContain('linkLocal');
  });

  it("check-url's result does not say which internal address a name resolves to; the worker's log does", async () => {
    const { id } = await submit('check-url', { url: 'http://localhost/' });
    const job = await finished(id);
    expect(job).toMatchObject({
      state: 'completed',
      result: { outcome: 'blocked', error: 'host localhost is not a public address' },
    });
    expect(JSON.stringify(job)).not.toMatch(/127\.0\.0\.1|::1|loopback/);
    await waitFor(
      () =>
        /URL check blocked[^\n]*localhost resolves to/.test(worker.logs()) ||
        /localhost resolves to[^\n]*URL check blocked/.test(worker.logs()),
      {
        description: 'the detail in the worker log',
      },
    );
  });
});

describe('Server-Sent Events', () => {
  it('streams state, progress and completion, then ends', async () => {
    const { id, links } = await submit('sleep', { ms: 600, steps: 3 });
    const stream = await readSse(web.url + links.events);
    expect(stream.status).toBe(200);
    const names = stream.events.map((e) => e.event);
    expect(names[0]).toBe('state');
    expect(names.at(-1)).toBe('completed');
    const progress = stream.events.filter((e) => e.event === 'progress').map((e) => e.data);
    expect(progress).toEqual(expect.arrayContaining([100]));
    expect(stream.events.at(-1)?.data).toEqual({ sleptMs: 600, steps: 3 });
    for (const event of stream.events) expect(event.id).toMatch(/^\d+-\d+$/);
    expect(id).toBeTruthy();
  });

  it('sends heartbeats while a job runs', async () => {
    const { links } = await submit('sleep', { ms: 2500, steps: 1 });
    const stream = await readSse(web.url + links.events);
    expect(stream.comments).toBeGreaterThanOrEqual(1);
    expect(stream.events.at(-1)?.event).toBe('completed');
  });

  it('resumes from Last-Event-ID with exactly the events that were missed', async () => {
    const { links } = await submit('sleep', { ms: 900, steps: 3 });
    const first = await readSse(web.url + links.events, { stopWhen: (e) => e.event === 'progress' });
    const last = first.events.at(-1);
    expect(last?.event).toBe('progress');
    const rest = await readSse(web.url + links.events, { headers: { 'last-event-id': last?.id ?? '' } });
    const names = rest.events.map((e) => e.event);
    expect(names).not.toContain('state');
    expect(names.at(-1)).toBe('completed');
    expect(rest.events.filter((e) => e.event === 'progress').map((e) => e.data)).toEqual([67, 100]);
  });

  it('for a finished job, sends its state and end at once', async () => {
    const { id, links } = await submit('fib', { n: 5 });
    await finished(id);
    const stream = await readSse(web.url + links.events);
    expect(stream.events.map((e) => e.event)).toEqual(['state', 'completed']);
  });

  it('answers 404 problem JSON for an unknown job', async () => {
    const stream = await readSse(`${web.url}/api/jobs/default.AAAAAAAAAAAAAAAAAAAAAA/events`);
    expect(stream.status).toBe(404);
    expect(stream.contentType).toContain('application/problem+json');
  });
});

describe('idempotency', () => {
  it('returns the same job for the same key and never enqueues a second one', async () => {
    const before = await jobIds();
    const headers = { 'idempotency-key': `order-${Date.now()}` };
    const created = await api(web.url, 'POST', '/api/jobs/fib', { json: { n: 12 }, headers });
    expect(created.status).toBe(202);
    // The first request with a key created the job: it is no replay.
    expect(created.headers.get('idempotent-replayed')).toBeNull();
    const first = created.body as Accepted;
    const second = await api(web.url, 'POST', '/api/jobs/fib', { json: { n: 12 }, headers });
    expect(second.status).toBe(202);
    expect((second.body as Accepted).id).toBe(first.id);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const added = (await jobIds()).filter((id) => !before.includes(id));
    expect(added).toEqual([first.id]);
  });

  it('rejects a reused key with a different input and changes nothing', async () => {
    const headers = { 'idempotency-key': `reuse-${Date.now()}` };
    const first = await submit('fib', { n: 7 }, headers);
    await finished(first.id);
    const before = await jobIds();
    const reused = await api(web.url, 'POST', '/api/jobs/fib', { json: { n: 8 }, headers });
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ type: 'urn:flotilla:problem:idempotency-key-reused', status: 422 });
    expect(await jobIds()).toEqual(before);
  });

  it('keys are per job type and ids do not reveal the key', async () => {
    const key = `shared-${Date.now()}`;
    const a = await submit('fib', { n: 1 }, { 'idempotency-key': key });
    const b = await submit('sleep', { ms: 0 }, { 'idempotency-key': key });
    expect(a.id).not.toBe(b.id);
    expect(a.id).not.toContain(key);
  });
});

describe('cancel', () => {
  it('cancels a delayed job; it is gone afterwards', async () => {
    const { id, state } = await submit('sleep', { ms: 10 }, {}, '?delay=60000');
    expect(state).toBe('delayed');
    const cancelled = await api(web.url, 'DELETE', `/api/jobs/${id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toEqual({ id, state: 'cancelled' });
    expect((await api(web.url, 'GET', `/api/jobs/${id}`)).status).toBe(404);
    expect((await api(web.url, 'DELETE', `/api/jobs/${id}`)).status).toBe(404);
  });

  it('refuses to cancel an active or finished job with 409', async () => {
    const { id } = await submit('sleep', { ms: 1500, steps: 3 });
    await waitFor(async () => ((await api(web.url, 'GET', `/api/jobs/${id}`)).body as JobView).state === 'active', {
      timeoutMs: 10_000,
      description: 'job active',
    });
    const active = await api(web.url, 'DELETE', `/api/jobs/${id}`);
    expect(active.status).toBe(409);
    expect(active.body).toMatchObject({ type: 'urn:flotilla:problem:job-active' });
    await finished(id);
    const done = await api(web.url, 'DELETE', `/api/jobs/${id}`);
    expect(done.status).toBe(409);
    expect(done.body).toMatchObject({ type: 'urn:flotilla:problem:job-finished' });
  });
});

describe('bad input gets problem JSON and enqueues nothing', () => {
  const cases: {
    name: string;
    method: string;
    path: string;
    body?: string;
    headers?: Record<string, string>;
    status: number;
    code: string;
    pointer?: string;
  }[] = [
    {
      name: 'unknown job type',
      method: 'POST',
      path: '/api/jobs/nope',
      body: '{}',
      headers: { 'content-type': 'application/json' },
      status: 404,
      code: 'unknown-job-type',
    },
    {
      name: 'missing field',
      method: 'POST',
      path: '/api/jobs/fib',
      body: '{}',
      headers: { 'content-type': 'application/json' },
      status: 422,
      code: 'validation-failed',
      pointer: '#/n',
    },
    {
      name: 'wrong field type',
      method: 'POST',
      path: '/api/jobs/fib',
      body: '{"n":"ten"}',
      headers: { 'content-type': 'application/json' },
      status: 422,
      code: 'validation-failed',
      pointer: '#/n',
    },
    {
      name: 'out-of-range value',
      method: 'POST',
      path: '/api/jobs/fib',
      body: '{"n":1e9}',
      headers: { 'content-type': 'application/json' },
      status: 422,
      code: 'validation-failed',
      pointer: '#/n',
    },
    {
      name: 'unknown extra field',
      method: 'POST',
      path: '/api/jobs/fib',
      body: '{"n":1,"admin":true}',
      headers: { 'content-type': 'application/json' },
      status: 422,
      code: 'validation-failed',
    },
    {
      name: 'nested invalid child input',
      method: 'POST',
      path: '/api/jobs/digest',
      body: '{"ns":[1,-2]}',
      headers: { 'content-type': 'application/json' },
      status: 422,
      code: 'validation-failed',
      pointer: '#/ns/1',
    },
    {
      name: 'JSON array instead of object',
      method: 'POST',
      path: '/api/jobs/fib',
      body: '[1]',
      headers: { 'content-type': 'application/json' },
      status: 422,
      code: 'validation-failed',
    },
    {
      name: 'non-JSON content type',
      method: 'POST',
      path: '/api/jobs/fib',
      body: 'n=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      status: 415,
      code: 'unsupported-media-type',
    },
    {
      name: 'no content type',
      method: 'POST',
      path: '/api/jobs/fib',
      body: '{"n":1}',
      headers: {},
      status: 415,
      code: 'unsupported-media-type',
    },
    {
      name: 'malformed JSON',
      method: 'POST',
      path: '/api/jobs/fib',
      body: '{"n":',
      headers: { 'content-type': 'application/json' },
      status: 400,
      code: 'malformed-json',
    },
    {
      name: 'body over the limit',
      method: 'POST',
      path: '/api/jobs/fib',
      body: JSON.stringify({ n: 1, pad: 'x'.repeat(4096) }),
      headers: { 'content-type': 'application/json' },
      status: 413,
      code: 'payload-too-large',
    },
    {
      name: 'bad Idempotency-Key',
      method: 'POST',
      path: '/api/jobs/fib',
      body: '{"n":1}',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'x'.repeat(300) },
      status: 400,
      code: 'invalid-header',
      pointer: 'Idempotency-Key',
    },
    {
      name: 'bad delay',
      method: 'POST',
      path: '/api/jobs/fib?delay=soon',
      body: '{"n":1}',
      headers: { 'content-type': 'application/json' },
      status: 422,
      code: 'validation-failed',
      pointer: 'delay',
    },
    { name: 'malformed job id', method: 'GET', path: '/api/jobs/..%2F..%2Fetc', status: 404, code: 'job-not-found' },
    {
      name: 'unknown job id',
      method: 'GET',
      path: '/api/jobs/default.AAAAAAAAAAAAAAAAAAAAAA',
      status: 404,
      code: 'job-not-found',
    },
    {
      name: 'job id of an undeclared queue',
      method: 'GET',
      path: '/api/jobs/other.AAAAAAAAAAAAAAAAAAAAAA',
      status: 404,
      code: 'job-not-found',
    },
    {
      name: 'bad wait',
      method: 'GET',
      path: '/api/jobs/default.AAAAAAAAAAAAAAAAAAAAAA?wait=forever',
      status: 422,
      code: 'validation-failed',
      pointer: 'wait',
    },
    {
      name: 'wait above the maximum',
      method: 'GET',
      path: '/api/jobs/default.AAAAAAAAAAAAAAAAAAAAAA?wait=3600',
      status: 422,
      code: 'validation-failed',
      pointer: 'wait',
    },
    {
      name: 'cancel of an unknown job',
      method: 'DELETE',
      path: '/api/jobs/default.AAAAAAAAAAAAAAAAAAAAAA',
      status: 404,
      code: 'job-not-found',
    },
    { name: 'unknown route', method: 'GET', path: '/api/nothing-here', status: 404, code: 'not-found' },
    {
      name: 'check-url with a file URL',
      method: 'POST',
      path: '/api/jobs/check-url',
      body: '{"url":"file:///etc/passwd"}',
      headers: { 'content-type': 'application/json' },
      status: 422,
      code: 'validation-failed',
      pointer: '#/url',
    },
    {
      name: 'check-url with credentials',
      method: 'POST',
      path: '/api/jobs/check-url',
      body: '{"url":"https://u:p@example.com/"}',
      headers: { 'content-type': 'application/json' },
      status: 422,
      code: 'validation-failed',
      pointer: '#/url',
    },
  ];

  it.each(cases)('$name → $status $code', async (c) => {
    const [idsBefore, totalsBefore] = [await jobIds(), await totals()];
    const response = await api(web.url, c.method, c.path, {
      ...(c.body !== undefined ? { body: c.body } : {}),
      headers: c.headers ?? {},
    });
    expect(response.status, response.text).toBe(c.status);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({
      type: `urn:flotilla:problem:${c.code}`,
      status: c.status,
      title: anyString,
      detail: anyString,
    });
    if (c.pointer) {
      expect((response.body as { errors: { pointer: string }[] }).errors.map((e) => e.pointer)).toContain(c.pointer);
    }
    expect(await jobIds()).toEqual(idsBefore);
    expect(await totals()).toEqual(totalsBefore);
  });
});

describe('health and the API document', () => {
  it('reports liveness and readiness', async () => {
    expect((await api(web.url, 'GET', '/healthz')).status).toBe(200);
    expect((await api(web.url, 'GET', '/readyz')).body).toEqual({
      status: 'ready',
      draining: false,
      redis: true,
      redisData: 'intact',
    });
    const workerReady = await fetch(`${worker.url}/readyz`);
    expect(workerReady.status).toBe(200);
  });

  it('documents every route and status the server answered in this file', async () => {
    // Not API resources.
    const { undocumented, document } = await undocumentedResponses(
      web.url,
      (path, status) => status === 404 && (path === '/api/nothing-here' || path === '/api/jobs/nope'),
    );
    expect(document.openapi).toBe('3.1.0');
    expect(undocumented).toEqual([]);
    // And the other way round: every documented job type is one the server accepts.
    for (const path of Object.keys(document.paths).filter((p) => /^\/api\/jobs\/[a-z]/.test(p))) {
      const type = path.split('/')[3];
      expect(seen.some((s) => s.method === 'POST' && s.path === `/api/jobs/${type}` && s.status === 202)).toBe(true);
    }
  });
});
