import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  isolatedServiceEnv,
  spawnWeb,
  spawnWorker,
  waitFor,
  type IsolatedServiceEnv,
  type ServiceHandle,
} from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseMetrics, total, type Sample } from '../support/prometheus-text.js';

// The real web and worker processes export what dashboards and alerts rely on; values move as
// real requests and jobs run.
function environment(): IsolatedServiceEnv {
  return isolatedServiceEnv(inject('redisUrl'));
}

async function scrape(service: ServiceHandle, headers: Record<string, string> = {}): Promise<Sample[]> {
  const response = await fetch(`${service.url}/metrics`, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parseMetrics(await response.text());
}

async function submit(web: ServiceHandle, type: string, input: unknown): Promise<string> {
  const response = await fetch(`${web.url}/api/jobs/${type}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  expect(response.status).toBe(202);
  const { id } = (await response.json()) as { id: string };
  await fetch(`${web.url}/api/jobs/${id}?wait=20`).then((r) => r.arrayBuffer());
  return id;
}

describe('metrics of a running web and worker', () => {
  let web: ServiceHandle;
  let worker: ServiceHandle;

  beforeAll(async () => {
    const env = environment();
    [web, worker] = await Promise.all([spawnWeb(env), spawnWorker(env)]);
  });
  afterAll(async () => {
    await Promise.all([web?.stop(), worker?.stop()]);
  });

  it('counts jobs by queue, type and outcome, with their durations and waits', async () => {
    const before = await scrape(worker);
    const ids = [
      await submit(web, 'sleep', { ms: 20 }),
      await submit(web, 'flaky', { failTimes: 1 }),
      await submit(web, 'flaky', { failTimes: 10 }),
    ];
    const after = await scrape(worker);
    const delta = (labels: Record<string, string>, name = 'flotilla_jobs_total') =>
      total(after, name, labels) - total(before, name, labels);
    expect(delta({ queue: 'default', type: 'sleep', status: 'completed' })).toBe(1);
    expect(delta({ queue: 'default', type: 'flaky', status: 'completed' })).toBe(1);
    // failTimes 1: one retry; failTimes 10 with 4 attempts: three retries, then failed.
    expect(delta({ queue: 'default', type: 'flaky', status: 'retried' })).toBe(4);
    expect(delta({ queue: 'default', type: 'flaky', status: 'failed' })).toBe(1);
    expect(delta({ queue: 'default', type: 'sleep' }, 'flotilla_job_duration_seconds_count')).toBe(1);
    expect(delta({ queue: 'default', type: 'sleep' }, 'flotilla_job_wait_seconds_count')).toBe(1);
    expect(total(after, 'flotilla_job_duration_seconds_sum', { type: 'sleep' })).toBeGreaterThanOrEqual(0.02);
    for (const sample of after.filter((s) => s.name.startsWith('flotilla_'))) {
      expect(sample.labels['service']).toBe('worker');
      for (const id of ids) expect(Object.values(sample.labels)).not.toContain(id);
    }
  });

  it('reports queue depth, the oldest waiting job and the workers per queue', async () => {
    const samples = await scrape(worker);
    for (const queue of ['default', 'cpu', 'background']) {
      expect(total(samples, 'flotilla_queue_workers', { queue })).toBe(1);
      for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed']) {
        expect(
          samples.some(
            (s) => s.name === 'flotilla_queue_jobs' && s.labels['queue'] === queue && s.labels['state'] === state,
          ),
        ).toBe(true);
      }
    }
    expect(total(samples, 'flotilla_queue_jobs', { queue: 'default', state: 'failed' })).toBeGreaterThanOrEqual(1);
    // A delayed job is not waiting; one due now but unserved is (nothing consumes "other" here).
    expect(total(samples, 'flotilla_queue_oldest_waiting_seconds', { queue: 'default' })).toBe(0);
    expect(total(samples, 'flotilla_redis_up', { redis: 'queue' })).toBe(1);
    expect(total(samples, 'flotilla_redis_up', { redis: 'cache' })).toBe(1);
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_p99_seconds' && s.labels['service'] === 'worker')).toBe(
      true,
    );
  });

  it('GET /api/queues tells an autoscaler how each queue stands', async () => {
    const response = await fetch(`${web.url}/api/queues`);
    expect(response.status).toBe(200);
    const { queues } = (await response.json()) as {
      queues: { name: string; counts: Record<string, number>; oldestWaitingSeconds: number; workers: number }[];
    };
    expect(queues.map((q) => q.name)).toEqual(['default', 'cpu', 'background', 'outbound']);
    for (const queue of queues) {
      expect(queue.workers).toBe(1);
      expect(queue.oldestWaitingSeconds).toBeGreaterThanOrEqual(0);
      expect(Object.keys(queue.counts)).toEqual(
        expect.arrayContaining(['waiting', 'active', 'delayed', 'failed', 'completed']),
      );
    }
  });

  it('times HTTP requests by route template, including cache hits served before Express', async () => {
    await fetch(`${web.url}/articles/1`).then((r) => r.arrayBuffer());
    const hit = await fetch(`${web.url}/articles/1`);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    await hit.arrayBuffer();
    await fetch(`${web.url}/api/jobs/default.AAAAAAAAAAAAAAAAAAAAAA`).then((r) => r.arrayBuffer());
    const samples = await scrape(web);
    const count = (labels: Record<string, string>) => total(samples, 'http_request_duration_seconds_count', labels);
    expect(count({ method: 'GET', route: '/articles/:id', status_code: '200' })).toBeGreaterThanOrEqual(2);
    expect(count({ method: 'POST', route: '/api/jobs/:type', status_code: '202' })).toBeGreaterThanOrEqual(3);
    expect(count({ method: 'GET', route: '/api/jobs/:id', status_code: '404' })).toBeGreaterThanOrEqual(1);
    const routes = new Set(
      samples.filter((s) => s.name === 'http_request_duration_seconds_count').map((s) => s.labels['route']),
    );
    // Templates only: no raw path with an id in it.
    for (const route of routes) expect(route).not.toMatch(/\/(\d+|[a-z]+\.[A-Za-z0-9_-]{10,})(\/|$)/);
    expect(total(samples, 'flotilla_cache_requests_total', { cache: 'pages', result: 'hit' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(total(samples, 'flotilla_cache_requests_total', { cache: 'pages', result: 'miss' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(samples.some((s) => s.name === 'process_cpu_seconds_total' && s.labels['service'] === 'web')).toBe(true);
  });

  it('counts cache invalidations', async () => {
    const before = total(await scrape(web), 'flotilla_cache_invalidations_total', { cache: 'pages' });
    const response = await fetch(`${web.url}/api/articles/1/comments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ author: 'm', text: 'counted' }),
    });
    expect(response.status).toBe(201);
    expect(total(await scrape(web), 'flotilla_cache_invalidations_total', { cache: 'pages' })).toBeGreaterThan(before);
  });
});

describe('protected metrics', () => {
  it('needs the bearer token on the web and basic auth on the worker when configured', async () => {
    const env = environment();
    const token = randomBytes(16).toString('hex');
    const [web, worker] = await Promise.all([
      spawnWeb({ ...env, METRICS_BEARER_TOKEN: token }),
      spawnWorker({ ...env, METRICS_BASIC_AUTH: 'prometheus:a-s3cret-pass-phrase' }),
    ]);
    try {
      const denied = await fetch(`${web.url}/metrics`);
      expect(denied.status).toBe(401);
      expect(denied.headers.get('content-type')).toContain('application/problem+json');
      expect(
        (await fetch(`${web.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0000000' } })).status,
      ).toBe(401);
      expect(total(await scrape(web, { authorization: `Bearer ${token}` }), 'flotilla_redis_up')).toBe(2);
      expect((await fetch(`${web.url}/api/queues`)).status).toBe(401);
      expect((await fetch(`${web.url}/api/queues`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
        200,
      );
      expect((await fetch(`${worker.url}/metrics`)).status).toBe(401);
      const basic = `Basic ${Buffer.from('prometheus:a-s3cret-pass-phrase').toString('base64')}`;
      expect(total(await scrape(worker, { authorization: basic }), 'flotilla_redis_up')).toBe(2);
    } finally {
      await Promise.all([web.stop(), worker.stop()]);
    }
  });
});

describe('HireFire', () => {
  it("answers the worker's queue latency at its token's path, and nothing elsewhere", async () => {
    const token = randomBytes(16).toString('hex');
    const web = await spawnWeb({ ...environment(), HIREFIRE_TOKEN: token });
    try {
      // Nothing consumes the queue: the job waits, and the latency grows.
      const submitted = await fetch(`${web.url}/api/jobs/sleep`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"ms":1}',
      });
      expect(submitted.status).toBe(202);
      await waitFor(
        async () => {
          const info = (await (await fetch(`${web.url}/hirefire/${token}/info`)).json()) as {
            name: string;
            value: number;
          }[];
          return info.length === 1 && info[0]?.name === 'worker' && (info[0]?.value ?? 0) >= 1;
        },
        { timeoutMs: 10_000, description: 'latency of at least a second' },
      );
      expect((await fetch(`${web.url}/hirefire/${'x'.repeat(32)}/info`)).status).toBe(404);
    } finally {
      await web.stop();
    }
  });
});

describe('WEB_CONCURRENCY', () => {
  it("a scrape of any process returns the whole cluster's counts", async () => {
    const web = await spawnWeb({ ...environment(), WEB_CONCURRENCY: '2' });
    try {
      for (let i = 0; i < 40; i++) await fetch(`${web.url}/healthz`).then((r) => r.arrayBuffer());
      // Requests are spread over both processes; each alone saw about half. While a process is
      // still starting (or the machine is busy) the primary cannot gather it in time and the
      // scrape answers 503, as Prometheus would see it; the next scrape must then be whole.
      // waitFor resolves only with a truthy value.
      const samples = (await waitFor(
        async (): Promise<Sample[] | undefined> => {
          const response = await fetch(`${web.url}/metrics`);
          return response.status === 200 ? parseMetrics(await response.text()) : undefined;
        },
        { timeoutMs: 20_000, description: 'a scrape of the whole cluster' },
      )) as Sample[];
      expect(total(samples, 'http_request_duration_seconds_count', { route: '/healthz' })).toBeGreaterThanOrEqual(40);
    } finally {
      await web.stop();
    }
  });
});

describe('push', () => {
  let gateway: Server;
  const received: { method: string; url: string; body: string }[] = [];

  beforeAll(async () => {
    gateway = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', body });
        res.writeHead(req.method === 'DELETE' ? 202 : 200).end();
      });
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => gateway.close(resolve));
  });

  it('pushes to a Pushgateway when configured and removes its group when it stops', async () => {
    const { port } = gateway.address() as AddressInfo;
    const worker = await spawnWorker({
      ...environment(),
      METRICS_PUSHGATEWAY_URL: `http://127.0.0.1:${port}`,
      METRICS_PUSH_INTERVAL_SECONDS: '1',
    });
    await waitFor(() => received.filter((r) => r.body.includes('flotilla_queue_jobs')).length >= 2, {
      timeoutMs: 10_000,
      description: 'two pushes',
    });
    const push = received.find((r) => r.method === 'POST');
    expect(push?.url).toMatch(/^\/metrics\/job\/flotilla-worker\/instance\/[^/]+$/);
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
    expect(received.some((r) => r.method === 'DELETE' && r.url === push?.url)).toBe(true);
  });
});
