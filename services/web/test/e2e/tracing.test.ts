import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { childJobId } from '@flotilla/queue';
import { serviceEntry, spawnWeb, spawnWorker, uniqueQueuePrefix, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api } from '../support/api.js';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';

// The real web and worker processes export their spans to a collector stand-in in this test.
let receiver: OtlpReceiver;
// The URL the worker's HTTP client is sent to, which notes the trace context each call carries.
let target: Server;
let targetUrl: string;
const traceparents = new Map<string, string | string[] | undefined>();
let web: ServiceHandle;
let worker: ServiceHandle;
let redis: Redis;
let prefix: string;

const INTERNAL = 1;
const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

function baseEnv(): Record<string, string | undefined> {
  const tag = randomBytes(4).toString('hex');
  return {
    REDIS_URL: inject('redisUrl'),
    QUEUE_PREFIX: prefix,
    CACHE_PREFIX: `t-${tag}:cache:`,
    DATA_PREFIX: `t-${tag}:data:`,
    // Whatever the developer's shell says about OpenTelemetry must not leak into the test.
    OTEL_SDK_DISABLED: undefined,
    OTEL_TRACES_EXPORTER: undefined,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: undefined,
    OTEL_SERVICE_NAME: undefined,
    OTEL_RESOURCE_ATTRIBUTES: undefined,
    OTEL_TRACES_SAMPLER: undefined,
  };
}

beforeAll(async () => {
  receiver = await OtlpReceiver.start();
  target = createServer((req, res) => {
    traceparents.set(req.url ?? '', req.headers.traceparent);
    res.end('ok');
  });
  target.listen(0, '127.0.0.1');
  await once(target, 'listening');
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  prefix = uniqueQueuePrefix();
  const env = {
    ...baseEnv(),
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    // Export each batch almost at once, so the test waits for spans in well under a second.
    OTEL_BSP_SCHEDULE_DELAY: '100',
    // The URL checker may call the loopback target, in a round every second.
    URL_CHECK_ALLOW: '127.0.0.0/8',
    // Target changes need the admin credentials.
    ADMIN_BASIC_AUTH: 'ops:correct-horse-battery',
    URL_CHECK_INTERVAL_SECONDS: '1',
  };
  [web, worker] = await Promise.all([
    spawnWeb({ ...env, LOG_LEVEL: 'warn' }),
    spawnWorker({ ...env, LOG_LEVEL: 'debug' }),
  ]);
  redis = new Redis(inject('redisUrl'));
});

afterAll(async () => {
  await redis?.quit();
  const exits = await Promise.all([web?.stop(), worker?.stop()]);
  await receiver?.close();
  target?.closeAllConnections();
  target?.close();
  for (const exit of exits) expect(exit).toEqual({ code: 0, signal: null });
});

/** The worker's processing span of a job, once it has been exported. */
function processing(jobId: string): ReceivedSpan | undefined {
  return receiver.spans.find(
    (s) => s.service === 'flotilla-worker' && s.kind === CONSUMER && s.attributes['bullmq.job.id'] === jobId,
  );
}

/** A span's ancestors, nearest first, across every process that exported to the receiver. */
function ancestors(span: ReceivedSpan): ReceivedSpan[] {
  const byId = new Map(receiver.trace(span.traceId).map((s) => [s.spanId, s]));
  const chain: ReceivedSpan[] = [];
  for (
    let parent = span.parentSpanId && byId.get(span.parentSpanId);
    parent;
    parent = parent.parentSpanId && byId.get(parent.parentSpanId)
  ) {
    chain.push(parent);
  }
  return chain;
}

function workerLogLines(): Record<string, unknown>[] {
  return worker
    .logs()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('traces', () => {
  it('one trace covers the HTTP request, the enqueue, the digest job and its fib children, across processes', async () => {
    const submitted = await api(web.url, 'POST', '/api/jobs/digest', { json: { ns: [5, 6] } });
    expect(submitted.status, submitted.text).toBe(202);
    const { id } = submitted.body as { id: string };
    const done = await api(web.url, 'GET', `/api/jobs/${id}?wait=20`);
    expect(done.body).toMatchObject({ state: 'completed' });
    const children = [0, 1].map((index) => childJobId(id, index, 'cpu'));

    // Spans arrive in batches from two processes; wait until every processing span is in.
    await waitFor(() => [id, ...children].every((jobId) => processing(jobId)), {
      timeoutMs: 15_000,
      description: 'processing spans of the digest job and both fib children',
    });
    const digest = processing(id);
    const traceId = digest?.traceId ?? '';
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    // waitFor resolves only with a truthy value.
    const request = (await waitFor(
      () => receiver.trace(traceId).find((s) => s.service === 'flotilla-web' && s.kind === SERVER),
      {
        timeoutMs: 15_000,
        description: "the web's HTTP server span in the job's trace",
      },
    )) as ReceivedSpan;

    // The trace starts at the web's request span…
    expect(request).toMatchObject({ name: 'POST /api/jobs/:type', parentSpanId: undefined });
    expect(request.attributes['http.route']).toBe('/api/jobs/:type');
    // …which enqueued the flow: one producer span for the flow, one per job in it…
    const enqueued = receiver.trace(traceId).filter((s) => s.service === 'flotilla-web' && s.kind === PRODUCER);
    expect(enqueued.map((s) => s.name).sort()).toEqual([
      'addFlow default',
      'addNode cpu',
      'addNode cpu',
      'addNode default',
    ]);
    for (const span of enqueued) expect(ancestors(span)).toContainEqual(request);
    // Redis commands made on the way are traced too, in both processes, as children of the trace.
    const redisSpans = (): ReceivedSpan[] =>
      receiver.trace(traceId).filter((s) => s.attributes['db.system.name'] === 'redis');
    await waitFor(() => new Set(redisSpans().map((s) => s.service)).size === 2, {
      timeoutMs: 15_000,
      description: 'Redis command spans from the web and the worker',
    });
    for (const span of redisSpans()) expect(span.parentSpanId).toBeTruthy();
    // …and the worker processed each job in a span that continues from where it was enqueued.
    for (const jobId of [id, ...children]) {
      const span = processing(jobId);
      expect(span?.traceId, jobId).toBe(traceId);
      const chain = ancestors(span as ReceivedSpan);
      expect(chain[0]?.kind).toBe(PRODUCER);
      expect(chain[0]?.attributes['bullmq.job.id']).toBe(jobId);
      expect(chain.at(-1)).toEqual(request);
    }
    expect(processing(children[0] ?? '')?.attributes['bullmq.job.name']).toBe('fib');

    // The worker's log lines about these jobs name the trace and the job's processing span.
    const linesOfTheJobs = (): Record<string, unknown>[] =>
      workerLogLines().filter((line) => [id, ...children].includes(String(line['jobId'])));
    await waitFor(() => linesOfTheJobs().length >= 3, { description: 'worker log lines for the three jobs' });
    const lines = linesOfTheJobs();
    for (const line of lines) {
      expect(line['trace_id']).toBe(traceId);
      expect(line['span_id']).toBe(processing(String(line['jobId']))?.spanId);
    }
  });

  it("an outgoing HTTP call is a client span in the job's trace, and passes the trace on", async () => {
    const submitted = await api(web.url, 'POST', '/api/jobs/check-url', { json: { url: `${targetUrl}/job` } });
    expect(submitted.status, submitted.text).toBe(202);
    const { id } = submitted.body as { id: string };
    expect((await api(web.url, 'GET', `/api/jobs/${id}?wait=20`)).body).toMatchObject({
      state: 'completed',
      result: { outcome: 'up', status: 200 },
    });
    const job = (await waitFor(() => processing(id), {
      timeoutMs: 15_000,
      description: "the check-url job's processing span",
    })) as ReceivedSpan;
    const call = (await waitFor(
      () =>
        receiver.trace(job.traceId).find((s) => s.kind === CLIENT && s.attributes['url.full'] === `${targetUrl}/job`),
      {
        timeoutMs: 15_000,
        description: "the HTTP client span in the job's trace",
      },
    )) as ReceivedSpan;
    expect(call).toMatchObject({ service: 'flotilla-worker', name: 'GET' });
    expect(Number(call.attributes['http.response.status_code'])).toBe(200);
    expect(ancestors(call)).toContainEqual(job);
    // The target was called with the trace context of that client span.
    expect(traceparents.get('/job')).toBe(`00-${job.traceId}-${call.spanId}-01`);
  });

  it("a URL-check round, run by the worker's timer, is a trace of its own holding its Redis commands and HTTP calls", async () => {
    const url = `${targetUrl}/round`;
    const admin = { authorization: `Basic ${Buffer.from('ops:correct-horse-battery').toString('base64')}` };
    expect(
      (await api(web.url, 'POST', '/api/url-checks/targets', { json: { urls: [url] }, headers: admin })).status,
    ).toBe(200);
    try {
      // The round's own span ends last, so it may come in a later export than its children.
      const checks = (traceId: string): ReceivedSpan[] =>
        receiver.trace(traceId).filter((s) => s.kind === CLIENT && s.attributes['url.full'] === url);
      const round = (await waitFor(
        () => receiver.spans.find((s) => s.name === 'url-check round' && checks(s.traceId).length > 0),
        {
          timeoutMs: 15_000,
          description: 'a URL-check round span with the HTTP call to the target in its trace',
        },
      )) as ReceivedSpan;
      expect(round).toMatchObject({ service: 'flotilla-worker', kind: INTERNAL, parentSpanId: undefined });
      expect(Number(round.attributes['flotilla.url_check.checked'])).toBeGreaterThanOrEqual(1);
      const [call] = checks(round.traceId);
      expect(ancestors(call as ReceivedSpan).at(-1)).toEqual(round);
      expect(
        receiver.trace(round.traceId).filter((s) => s.attributes['db.system.name'] === 'redis').length,
      ).toBeGreaterThan(0);
      expect(traceparents.get('/round')).toMatch(new RegExp(`^00-${round.traceId}-[0-9a-f]{16}-01$`));
    } finally {
      await api(web.url, 'DELETE', '/api/url-checks/targets', { json: { urls: [url] }, headers: admin });
    }
  });

  it("carries the trace context in the job's options, leaving its validated data as submitted", async () => {
    const submitted = await api(web.url, 'POST', '/api/jobs/sleep', { json: { ms: 1, steps: 1 } });
    expect(submitted.status, submitted.text).toBe(202);
    const { id } = submitted.body as { id: string };
    await api(web.url, 'GET', `/api/jobs/${id}?wait=20`);
    const [data, opts] = await redis.hmget(`${prefix}:default:${id}`, 'data', 'opts');
    expect(JSON.parse(data ?? 'null')).toEqual({ ms: 1, steps: 1 });
    expect(opts).toContain('traceparent');
  });

  it('does not trace health probes', async () => {
    const before = receiver.spans.length;
    for (let i = 0; i < 5; i++) expect((await fetch(`${web.url}/healthz`)).status).toBe(200);
    // A request that is traced, after the probes: once its span is in, the probes' would be too.
    const marker = await api(web.url, 'GET', '/api/jobs/default.unknown-job');
    await waitFor(
      () =>
        receiver.spans.slice(before).some((s) => s.kind === SERVER && s.attributes['http.route'] === '/api/jobs/:id'),
      {
        timeoutMs: 15_000,
        description: `the span of GET /api/jobs/:id (answered ${marker.status})`,
      },
    );
    const probes = receiver.spans
      .slice(before)
      .filter(
        (s) => s.kind === SERVER && String(s.attributes['url.path'] ?? s.attributes['http.target']).includes('healthz'),
      );
    expect(probes).toEqual([]);
  });

  it.each([
    [
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/xml' },
      'OTEL_EXPORTER_OTLP_PROTOCOL: expected one of http/protobuf, http/json, grpc, got "http/xml"',
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      'OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:// or https:// URL, got "collector:4318"',
    ],
    [
      { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '10' },
      'OTEL_TRACES_SAMPLER_ARG: expected a ratio from 0 to 1, got "10"',
    ],
  ])('a bad OTEL_* variable stops start-up with one line naming it (%j)', (overrides, line) => {
    for (const service of ['web', 'worker'] as const) {
      const env: Record<string, string | undefined> = { ...process.env, ...baseEnv(), ...overrides };
      for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
      const result = spawnSync(process.execPath, [serviceEntry(service)], { env, encoding: 'utf8', timeout: 10_000 });
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([`flotilla ${service}: ${line}`]);
    }
  });
});
