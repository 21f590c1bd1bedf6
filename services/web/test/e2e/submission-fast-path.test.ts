import { connect } from 'node:net';
import { waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, type ApiResponse } from '../support/api.js';
import { parseMetrics, total } from '../support/prometheus-text.js';
import { startWatchedWeb, stopWatchedWeb, type QueueStateReader, type WatchedWeb } from '../support/queue-state.js';
import { rawExchange } from '../support/raw-http.js';

// The web answers plain job submissions before Express (submission-fast-path.ts) and leaves
// every other spelling to the Express route. Each case here sends the same request both ways
// and expects the same answer. The fast path's choice of requests is its component test's.
const RATE_LIMIT = 6;
const ORIGIN = 'https://app.example';
const FAST = 'application/json';
// The same media type with a quoted parameter: valid, and not a spelling the fast path reads.
const EXPRESS = 'application/json; charset="utf-8"';
// Headers whose values differ per job or per moment.
const VARYING = new Set(['date', 'location', 'content-length', 'retry-after']);

let watched: WatchedWeb;
let web: ServiceHandle;
let state: QueueStateReader;
let clients = 0;

beforeAll(async () => {
  watched = await startWatchedWeb(inject('redisUrl'), {
    RATE_LIMIT_REQUESTS: String(RATE_LIMIT),
    CORS_ORIGINS: ORIGIN,
  });
  ({ web, state } = watched);
});

afterAll(() => stopWatchedWeb(watched));

// A client of its own per case (the loopback proxy is trusted), so the rate limit of one case
// does not spill into another.
function newClient(): string {
  clients += 1;
  return `198.51.100.${clients}`;
}

function submit(
  type: string,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
  client = newClient(),
): Promise<ApiResponse> {
  return api(web.url, 'POST', `/api/jobs/${type}`, {
    body,
    headers: { 'content-type': contentType, 'x-forwarded-for': client, ...headers },
  });
}

/** What must be equal between the two paths: status, headers but the varying ones, the body without job ids. */
function comparable(response: ApiResponse): { status: number; headers: [string, string][]; body: unknown } {
  const headers = [...response.headers].filter(([name]) => !VARYING.has(name)).sort(([a], [b]) => a.localeCompare(b));
  const ids = /[a-z-]+\.[A-Za-z0-9_-]{22}/g;
  return { status: response.status, headers, body: JSON.parse(response.text.replaceAll(ids, '<id>')) as unknown };
}

async function bothWays(
  type: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<[ApiResponse, ApiResponse]> {
  const fast = await submit(type, FAST, body, headers);
  const express = await submit(type, EXPRESS, body, headers);
  expect(comparable(fast)).toEqual(comparable(express));
  return [fast, express];
}

describe('job submission before Express', () => {
  it.each([
    { name: 'an accepted job', type: 'fib', body: '{"n":5}', status: 202 },
    { name: 'JSON after a byte order mark', type: 'fib', body: '\ufeff{"n":5}', status: 202 },
    { name: 'a body that is not JSON', type: 'fib', body: '{"n":', status: 400 },
    { name: 'JSON null', type: 'fib', body: 'null', status: 422 },
    { name: 'an empty body', type: 'fib', body: '', status: 422 },
    { name: 'input the schema refuses', type: 'fib', body: '{"n":-1}', status: 422 },
  ])('answers $name as the Express route does ($status)', async ({ type, body, status }) => {
    const [fast] = await bothWays(type, body);
    expect(fast.status).toBe(status);
    expect(fast.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(fast.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a malformed Idempotency-Key as the Express route does, and adds no job', async () => {
    const before = await state.read();
    const [fast] = await bothWays('fib', '{"n":5}', { 'idempotency-key': 'k'.repeat(256) });
    expect(fast.status).toBe(400);
    expect(await state.read()).toEqual(before);
  });

  it('answers a request without a body as the Express route does', async () => {
    const request = (contentType: string): string =>
      `POST /api/jobs/fib HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${contentType}\r\nX-Forwarded-For: ${newClient()}\r\nConnection: close\r\n\r\n`;
    const fast = await rawExchange(web.port, [request(FAST)]);
    const express = await rawExchange(web.port, [request(EXPRESS)]);
    expect(fast.status).toBe(422);
    expect(fast.body).toBe(express.body);
  });

  it('replays an Idempotency-Key across both paths: one job, the same id', async () => {
    const key = `fast-path-${Date.now()}`;
    const client = newClient();
    const first = await submit('fib', FAST, '{"n":7}', { 'idempotency-key': key }, client);
    const second = await submit('fib', EXPRESS, '{"n":7}', { 'idempotency-key': key }, client);
    const third = await submit('fib', FAST, '{"n":7}', { 'idempotency-key': key }, client);
    expect([first.status, second.status, third.status]).toEqual([202, 202, 202]);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(third.headers.get('idempotent-replayed')).toBe('true');
    const id = (first.body as { id: string }).id;
    expect([(second.body as { id: string }).id, (third.body as { id: string }).id]).toEqual([id, id]);
    expect(first.headers.get('location')).toBe(`/api/jobs/${id}`);
  });

  it('counts both paths against one rate limit and refuses alike past it', async () => {
    const client = newClient();
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMIT; i++)
      statuses.push((await submit('fib', i % 2 === 0 ? FAST : EXPRESS, '{"n":1}', {}, client)).status);
    expect(statuses).toEqual(Array<number>(RATE_LIMIT).fill(202));
    const fast = await submit('fib', FAST, '{"n":1}', {}, client);
    const express = await submit('fib', EXPRESS, '{"n":1}', {}, client);
    expect(fast.status).toBe(429);
    expect(comparable(fast)).toEqual(comparable(express));
    expect(Number(fast.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('answers a cross-origin submission with the CORS headers the Express route sends', async () => {
    const [fast] = await bothWays('fib', '{"n":3}', { origin: ORIGIN });
    expect(fast.status).toBe(202);
    expect(fast.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(fast.headers.get('access-control-expose-headers')).toContain('location');
  });

  it('adds no job for a body cut off before its declared length, and keeps serving', async () => {
    const before = await state.read();
    const socket = connect(web.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.on('error', () => undefined);
    socket.write(
      `POST /api/jobs/fib HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${FAST}\r\nContent-Length: 50\r\n\r\n{"n":`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await state.read()).toEqual(before);
    expect((await submit('fib', FAST, '{"n":2}')).status).toBe(202);
  });

  it('measures fast submissions under their route template', async () => {
    await submit('fib', FAST, '{"n":4}');
    await waitFor(async () => {
      const samples = parseMetrics(await (await fetch(`${web.url}/metrics`)).text());
      return (
        total(samples, 'http_request_duration_seconds_count', { route: '/api/jobs/:type', status_code: '202' }) > 0
      );
    });
  });
});
