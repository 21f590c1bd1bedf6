import { Readable } from 'node:stream';
import { brotliCompressSync, deflateSync, gzipSync, zstdCompressSync } from 'node:zlib';
import { waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, type ApiResponse } from '../support/api.js';
import { startWatchedWeb, stopWatchedWeb, type QueueStateReader, type WatchedWeb } from '../support/queue-state.js';
import { rawExchange, type RawExchange } from '../support/raw-http.js';

// Hostile and broken requests against a real web process (no worker: a job accepted by
// mistake would stay waiting, where the counts see it). Small limits keep the cases cheap.
const BODY_LIMIT = 4096;
let watched: WatchedWeb;
let web: ServiceHandle;
let state: QueueStateReader;

const JSON_TYPE = { 'content-type': 'application/json' };
const UNKNOWN_ID = 'default.AAAAAAAAAAAAAAAAAAAAAA';

beforeAll(async () => {
  watched = await startWatchedWeb(inject('redisUrl'), {
    REQUEST_BODY_LIMIT_BYTES: String(BODY_LIMIT),
    HTTP_MAX_HEADER_BYTES: '8192',
    HTTP_HEADERS_TIMEOUT: '1',
    HTTP_REQUEST_TIMEOUT: '2',
    SSE_MAX_STREAMS_PER_CLIENT: '3',
  });
  ({ web, state } = watched);
});

afterAll(() => stopWatchedWeb(watched));

/** Runs `send` and asserts that the queues look exactly as before it. */
async function changesNothing<T>(send: () => Promise<T>): Promise<T> {
  const before = await state.read();
  const result = await send();
  expect(await state.read()).toEqual(before);
  return result;
}

function expectProblem(response: ApiResponse | RawExchange, status: number, code: string, pointer?: string): void {
  const text = 'text' in response ? response.text : response.body;
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  const body = JSON.parse(text) as {
    type: string;
    status: number;
    title: string;
    detail: string;
    errors?: { pointer: string }[];
  };
  expect(body).toMatchObject({
    type: `urn:flotilla:problem:${code}`,
    status,
    title: expect.any(String) as unknown,
    detail: expect.any(String) as unknown,
  });
  if (pointer !== undefined) expect(body.errors?.map((e) => e.pointer)).toContain(pointer);
}

interface Case {
  readonly name: string;
  readonly method?: string;
  readonly path: string;
  readonly body?: string | Buffer;
  readonly headers?: Record<string, string>;
  readonly status: number;
  readonly code: string;
  readonly pointer?: string;
}

const deep = (depth: number, open: string, inner: string, close: string): string =>
  open.repeat(depth) + inner + close.repeat(depth);

const cases: Case[] = [
  // Malformed and deeply nested JSON
  { name: 'a trailing comma', path: '/api/jobs/fib', body: '{"n":1,}', status: 400, code: 'malformed-json' },
  { name: 'single quotes', path: '/api/jobs/fib', body: "{'n':1}", status: 400, code: 'malformed-json' },
  { name: 'NaN', path: '/api/jobs/fib', body: '{"n":NaN}', status: 400, code: 'malformed-json' },
  { name: 'a truncated document', path: '/api/jobs/fib', body: '{"n":', status: 400, code: 'malformed-json' },
  { name: 'two documents', path: '/api/jobs/fib', body: '{"n":1}{"n":2}', status: 400, code: 'malformed-json' },
  {
    name: 'invalid UTF-8 in a string',
    path: '/api/jobs/fib',
    body: Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    status: 422,
    code: 'validation-failed',
    pointer: '#/n',
  },
  {
    name: 'an array nested 2000 deep',
    path: '/api/jobs/fib',
    body: deep(2000, '[', '', ']'),
    status: 422,
    code: 'validation-failed',
  },
  {
    name: 'a field nested 2000 deep',
    path: '/api/jobs/fib',
    body: `{"n":${deep(2000, '[', '1', ']')}}`,
    status: 422,
    code: 'validation-failed',
    pointer: '#/n',
  },
  {
    name: 'objects nested 500 deep',
    path: '/api/jobs/digest',
    body: `{"ns":${deep(500, '{"a":', '1', '}')}}`,
    status: 422,
    code: 'validation-failed',
    pointer: '#/ns',
  },
  { name: 'JSON null', path: '/api/jobs/fib', body: 'null', status: 422, code: 'validation-failed', pointer: '#/n' },
  { name: 'a JSON string', path: '/api/jobs/fib', body: '"n=1"', status: 422, code: 'validation-failed' },
  { name: 'an empty body', path: '/api/jobs/fib', body: '', status: 422, code: 'validation-failed', pointer: '#/n' },
  // Wrong content types and encodings
  {
    name: 'text/plain',
    path: '/api/jobs/fib',
    body: '{"n":1}',
    headers: { 'content-type': 'text/plain' },
    status: 415,
    code: 'unsupported-media-type',
  },
  {
    name: 'multipart/form-data',
    path: '/api/jobs/fib',
    body: '--x\r\n\r\n{"n":1}\r\n--x--',
    headers: { 'content-type': 'multipart/form-data; boundary=x' },
    status: 415,
    code: 'unsupported-media-type',
  },
  {
    name: 'application/xml',
    path: '/api/jobs/fib',
    body: '<n>1</n>',
    headers: { 'content-type': 'application/xml' },
    status: 415,
    code: 'unsupported-media-type',
  },
  {
    name: 'a form',
    path: '/api/jobs/fib',
    body: 'n=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
    code: 'unsupported-media-type',
  },
  {
    name: 'an unknown charset',
    path: '/api/jobs/fib',
    body: '{"n":1}',
    headers: { 'content-type': 'application/json; charset=klingon' },
    status: 415,
    code: 'unsupported-media-type',
  },
  {
    name: 'an unsupported Content-Encoding',
    path: '/api/jobs/fib',
    body: '{"n":1}',
    headers: { ...JSON_TYPE, 'content-encoding': 'compress' },
    status: 415,
    code: 'unsupported-media-type',
  },
  // Not whitespace to HTTP (String.trim would strip it): an encoding named U+00A0, found by the fuzz test.
  {
    name: 'a Content-Encoding of a no-break space',
    path: '/api/jobs/fib',
    body: '{"n":1}',
    headers: { ...JSON_TYPE, 'content-encoding': '\u00a0' },
    status: 415,
    code: 'unsupported-media-type',
  },
  {
    name: 'gzip that is not gzip',
    path: '/api/jobs/fib',
    body: 'not gzip at all',
    headers: { ...JSON_TYPE, 'content-encoding': 'gzip' },
    status: 400,
    code: 'malformed-body',
  },
  {
    name: 'brotli that is not brotli',
    path: '/api/jobs/fib',
    body: 'xx',
    headers: { ...JSON_TYPE, 'content-encoding': 'br' },
    status: 400,
    code: 'malformed-body',
  },
  {
    name: 'brotli with a corrupt stream',
    path: '/api/jobs/fib',
    body: 'this is not compressed at all, nope',
    headers: { ...JSON_TYPE, 'content-encoding': 'br' },
    status: 400,
    code: 'malformed-body',
  },
  {
    name: 'zstd that is not zstd',
    path: '/api/jobs/fib',
    body: 'this is not compressed at all, nope',
    headers: { ...JSON_TYPE, 'content-encoding': 'zstd' },
    status: 400,
    code: 'malformed-body',
  },
  {
    name: 'truncated gzip',
    path: '/api/jobs/fib',
    body: gzipSync('{"n":1}').subarray(0, 12),
    headers: { ...JSON_TYPE, 'content-encoding': 'gzip' },
    status: 400,
    code: 'malformed-body',
  },
  {
    name: 'truncated brotli',
    path: '/api/jobs/fib',
    body: brotliCompressSync(JSON.stringify({ n: 1, pad: 'x'.repeat(500) })).subarray(0, 8),
    headers: { ...JSON_TYPE, 'content-encoding': 'br' },
    status: 400,
    code: 'malformed-body',
  },
  {
    name: 'truncated zstd',
    path: '/api/jobs/fib',
    body: zstdCompressSync(JSON.stringify({ n: 1, pad: 'x'.repeat(500) })).subarray(0, 12),
    headers: { ...JSON_TYPE, 'content-encoding': 'zstd' },
    status: 400,
    code: 'malformed-body',
  },
  {
    name: 'two encodings',
    path: '/api/jobs/fib',
    body: '{"n":1}',
    headers: { ...JSON_TYPE, 'content-encoding': 'gzip, br' },
    status: 415,
    code: 'unsupported-media-type',
  },
  // Oversized bodies
  {
    name: 'a body over the limit',
    path: '/api/jobs/fib',
    body: JSON.stringify({ n: 1, pad: 'x'.repeat(BODY_LIMIT) }),
    status: 413,
    code: 'payload-too-large',
  },
  {
    name: 'a gzip bomb',
    path: '/api/jobs/fib',
    body: gzipSync(JSON.stringify({ n: 1, pad: 'x'.repeat(5_000_000) })),
    headers: { ...JSON_TYPE, 'content-encoding': 'gzip' },
    status: 413,
    code: 'payload-too-large',
  },
  {
    name: 'a form with too many fields',
    path: '/articles/1/comments',
    body: 'a=1&'.repeat(2000).slice(0, BODY_LIMIT - 1),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 413,
    code: 'payload-too-large',
  },
  // Unknown job types
  { name: 'an unknown type', path: '/api/jobs/nope', body: '{}', status: 404, code: 'unknown-job-type' },
  { name: 'a type in the wrong case', path: '/api/jobs/FIB', body: '{"n":1}', status: 404, code: 'unknown-job-type' },
  { name: 'an internal type', path: '/api/jobs/refresh-fragment', body: '{}', status: 404, code: 'unknown-job-type' },
  { name: '__proto__ as the type', path: '/api/jobs/__proto__', body: '{}', status: 404, code: 'unknown-job-type' },
  { name: 'constructor as the type', path: '/api/jobs/constructor', body: '{}', status: 404, code: 'unknown-job-type' },
  {
    name: 'a type with an encoded slash',
    path: '/api/jobs/fib%2F..',
    body: '{"n":1}',
    status: 404,
    code: 'unknown-job-type',
  },
  { name: 'a type with a broken escape', path: '/api/jobs/%zz', body: '{}', status: 400, code: 'bad-request' },
  // Invalid and extreme field values
  {
    name: 'a negative n',
    path: '/api/jobs/fib',
    body: '{"n":-1}',
    status: 422,
    code: 'validation-failed',
    pointer: '#/n',
  },
  {
    name: 'a fractional n',
    path: '/api/jobs/fib',
    body: '{"n":1.5}',
    status: 422,
    code: 'validation-failed',
    pointer: '#/n',
  },
  {
    name: 'n as a string',
    path: '/api/jobs/fib',
    body: '{"n":"1"}',
    status: 422,
    code: 'validation-failed',
    pointer: '#/n',
  },
  {
    name: 'n as a boolean',
    path: '/api/jobs/fib',
    body: '{"n":true}',
    status: 422,
    code: 'validation-failed',
    pointer: '#/n',
  },
  {
    name: 'n = 1e400 (Infinity)',
    path: '/api/jobs/fib',
    body: '{"n":1e400}',
    status: 422,
    code: 'validation-failed',
    pointer: '#/n',
  },
  {
    name: 'n past 2^53',
    path: '/api/jobs/fib',
    body: '{"n":9007199254740993}',
    status: 422,
    code: 'validation-failed',
    pointer: '#/n',
  },
  {
    name: 'a __proto__ key',
    path: '/api/jobs/fib',
    body: '{"n":1,"__proto__":{"admin":true}}',
    status: 422,
    code: 'validation-failed',
  },
  {
    name: 'sleep for 10^12 ms',
    path: '/api/jobs/sleep',
    body: '{"ms":1000000000000}',
    status: 422,
    code: 'validation-failed',
    pointer: '#/ms',
  },
  {
    name: 'zero progress steps',
    path: '/api/jobs/sleep',
    body: '{"ms":1,"steps":0}',
    status: 422,
    code: 'validation-failed',
    pointer: '#/steps',
  },
  {
    name: 'a digest of nothing',
    path: '/api/jobs/digest',
    body: '{"ns":[]}',
    status: 422,
    code: 'validation-failed',
    pointer: '#/ns',
  },
  {
    name: 'a digest of 21 numbers',
    path: '/api/jobs/digest',
    body: JSON.stringify({ ns: Array.from({ length: 21 }, () => 1) }),
    status: 422,
    code: 'validation-failed',
    pointer: '#/ns',
  },
  {
    name: 'a javascript: URL',
    path: '/api/jobs/check-url',
    body: '{"url":"javascript:alert(1)"}',
    status: 422,
    code: 'validation-failed',
    pointer: '#/url',
  },
  {
    name: 'a URL with a line break',
    path: '/api/jobs/check-url',
    body: '{"url":"https://example.com/\\r\\nHost: evil"}',
    status: 422,
    code: 'validation-failed',
    pointer: '#/url',
  },
  {
    name: 'a negative delay',
    path: '/api/jobs/fib?delay=-1',
    body: '{"n":1}',
    status: 422,
    code: 'validation-failed',
    pointer: 'delay',
  },
  {
    name: 'a delay in exponent form',
    path: '/api/jobs/fib?delay=1e3',
    body: '{"n":1}',
    status: 422,
    code: 'validation-failed',
    pointer: 'delay',
  },
  {
    name: 'a delay past a week',
    path: '/api/jobs/fib?delay=9999999999',
    body: '{"n":1}',
    status: 422,
    code: 'validation-failed',
    pointer: 'delay',
  },
  {
    name: 'two delays',
    path: '/api/jobs/fib?delay=1&delay=2',
    body: '{"n":1}',
    status: 422,
    code: 'validation-failed',
    pointer: 'delay',
  },
  {
    name: 'a wait past the maximum',
    method: 'GET',
    path: `/api/jobs/${UNKNOWN_ID}?wait=99999999999999`,
    status: 422,
    code: 'validation-failed',
    pointer: 'wait',
  },
  // Ids with path tricks and control characters
  {
    name: 'a traversal id',
    method: 'GET',
    path: '/api/jobs/..%2F..%2Fetc%2Fpasswd',
    status: 404,
    code: 'job-not-found',
  },
  {
    name: 'an id with NUL',
    method: 'GET',
    path: '/api/jobs/default.%00AAAAAAAAAAAAAAAAAAAAA',
    status: 404,
    code: 'job-not-found',
  },
  {
    name: 'an id with CRLF',
    method: 'DELETE',
    path: '/api/jobs/default.AAA%0D%0ASet-Cookie:%20x=1',
    status: 404,
    code: 'job-not-found',
  },
  {
    name: 'an id of 5000 characters',
    method: 'GET',
    path: `/api/jobs/default.${'A'.repeat(5000)}`,
    status: 404,
    code: 'job-not-found',
  },
  {
    name: 'a Redis pattern as the id',
    method: 'DELETE',
    path: '/api/jobs/default.*',
    status: 404,
    code: 'job-not-found',
  },
  {
    name: 'events of a traversal id',
    method: 'GET',
    path: '/api/jobs/..%2Fdefault/events',
    status: 404,
    code: 'job-not-found',
  },
  { name: 'an id with a broken escape', method: 'GET', path: '/api/jobs/%E0%A4%A', status: 400, code: 'bad-request' },
  // Header injection and bad headers
  {
    name: 'an Idempotency-Key with a tab',
    path: '/api/jobs/fib',
    body: '{"n":1}',
    headers: { ...JSON_TYPE, 'idempotency-key': 'a\tb' },
    status: 400,
    code: 'invalid-header',
    pointer: 'Idempotency-Key',
  },
  {
    name: 'a non-ASCII Idempotency-Key',
    path: '/api/jobs/fib',
    body: '{"n":1}',
    headers: { ...JSON_TYPE, 'idempotency-key': 'caf\u00e9' },
    status: 400,
    code: 'invalid-header',
    pointer: 'Idempotency-Key',
  },
  {
    name: 'an empty Idempotency-Key',
    path: '/api/jobs/fib',
    body: '{"n":1}',
    headers: { ...JSON_TYPE, 'idempotency-key': '' },
    status: 400,
    code: 'invalid-header',
    pointer: 'Idempotency-Key',
  },
];

describe('bad input gets the right problem and changes nothing', () => {
  it.each(cases)('$name → $status $code', async (c) => {
    const response = await changesNothing(() =>
      api(web.url, c.method ?? 'POST', c.path, {
        ...(c.body !== undefined ? { body: c.body } : {}),
        headers: c.headers ?? (c.method === undefined ? JSON_TYPE : {}),
      }),
    );
    expectProblem(response, c.status, c.code, c.pointer);
    expect(response.headers.get('set-cookie')).toBeNull();
  });

  it('a chunked body that grows past the limit is cut with 413', async () => {
    const response = await changesNothing(async () => {
      const chunks = Array.from({ length: 20 }, (_, i) => Buffer.from(i === 0 ? '{"n":1,"pad":"' : 'x'.repeat(512)));
      const init = { method: 'POST', headers: JSON_TYPE, body: Readable.toWeb(Readable.from(chunks)), duplex: 'half' };
      const result = await fetch(`${web.url}/api/jobs/fib`, init as RequestInit);
      return { status: result.status, headers: result.headers, text: await result.text(), body: undefined };
    });
    expectProblem(response, 413, 'payload-too-large');
  });
});

describe('bodies in every encoding the API reads', () => {
  it.each([
    { encoding: 'gzip', compress: gzipSync },
    { encoding: 'deflate', compress: deflateSync },
    { encoding: 'br', compress: brotliCompressSync },
    { encoding: 'zstd', compress: zstdCompressSync },
  ])('$encoding is accepted', async ({ encoding, compress }) => {
    const response = await api(web.url, 'POST', '/api/jobs/fib', {
      body: compress(JSON.stringify({ n: 3 })),
      headers: { ...JSON_TYPE, 'content-encoding': encoding },
    });
    expect(response.status, response.text).toBe(202);
  });

  it('a JSON request with no body at all is read as {}, not refused as another type', async () => {
    const request =
      'POST /api/jobs/fib HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n\r\n';
    const exchange = await changesNothing(() => rawExchange(web.port, [request]));
    expectProblem(exchange, 422, 'validation-failed', '#/n');
    const typed = await changesNothing(() =>
      rawExchange(web.port, [request.replace('application/json; charset=utf-8', 'text/plain')]),
    );
    expectProblem(typed, 415, 'unsupported-media-type');
  });
});

describe('requests that never reach Express', () => {
  const post = (headers: string, body = '{"n":1}'): string =>
    `POST /api/jobs/fib HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

  it.each([
    {
      name: 'a control character in the path',
      request: 'GET /api/jobs/a\x01b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
      status: 400,
      code: 'bad-request',
    },
    {
      name: 'a control character in Idempotency-Key',
      request: post('Idempotency-Key: a\x01b\r\n'),
      status: 400,
      code: 'bad-request',
    },
    {
      name: 'a bare line feed smuggling a second header',
      request: post('Idempotency-Key: a\nX-Injected: 1\r\n'),
      status: 400,
      code: 'bad-request',
    },
    {
      name: 'both Content-Length and Transfer-Encoding (request smuggling)',
      request:
        'POST /api/jobs/fib HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{"n":1}\r\n0\r\n\r\n',
      status: 400,
      code: 'bad-request',
    },
    {
      name: 'no Host header',
      request: 'GET /api/jobs/fib HTTP/1.1\r\nConnection: close\r\n\r\n',
      status: 400,
      code: 'bad-request',
    },
    { name: 'not HTTP at all', request: 'HELLO\r\n\r\n', status: 400, code: 'bad-request' },
    // Sent raw: fetch would resolve the dots before sending.
    {
      name: 'an id of encoded dots',
      request: 'GET /api/jobs/%2e%2e HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      status: 404,
      code: 'job-not-found',
    },
    {
      name: 'a path that climbs out',
      request: 'GET /api/jobs/../../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      status: 404,
      code: 'not-found',
    },
    {
      name: 'a URL over HTTP_MAX_HEADER_BYTES',
      request: `GET /api/jobs/default.${'A'.repeat(10_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
      status: 431,
      code: 'headers-too-large',
    },
    {
      name: 'headers over HTTP_MAX_HEADER_BYTES',
      request: `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(10_000)}\r\n\r\n`,
      status: 431,
      code: 'headers-too-large',
    },
    {
      name: 'a Content-Length of a terabyte',
      request:
        'POST /api/jobs/fib HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{"n":1',
      status: 413,
      code: 'payload-too-large',
    },
  ])('$name → $status $code', async ({ request, status, code }) => {
    const exchange = await changesNothing(() => rawExchange(web.port, [request]));
    expectProblem(exchange, status, code);
    // None of them leaves the connection open, the terabyte included: nothing more is read.
    expect(exchange.closedAfterMs).toBeLessThan(1000);
  });

  it('a CRLF in Idempotency-Key only makes a second header line, and nothing is echoed back', async () => {
    // Over the wire "key\r\nSet-Cookie: …" is two header lines; what matters is that neither the
    // key nor the injected line comes back in the response.
    const exchange = await changesNothing(() =>
      rawExchange(web.port, [post('Idempotency-Key: order-1\r\nSet-Cookie: session=evil\r\n', '{"n":-1}')]),
    );
    expectProblem(exchange, 422, 'validation-failed', '#/n');
    expect(exchange.headers.has('set-cookie')).toBe(false);
    expect([...exchange.headers.values()].join('\n')).not.toContain('order-1');
  });
});

describe('slow clients (slow-loris)', () => {
  it('a client that sends its headers a line at a time is cut at HTTP_HEADERS_TIMEOUT with 408', async () => {
    const lines = [
      'GET /healthz HTTP/1.1\r\n',
      'Host: 127.0.0.1\r\n',
      ...Array.from({ length: 30 }, (_, i) => `X-Slow-${i}: ${i}\r\n`),
      '\r\n',
    ];
    const [slow, meanwhile] = await Promise.all([
      rawExchange(web.port, lines, { gapMs: 200, timeoutMs: 8000 }),
      // The server goes on serving others while it waits.
      (async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        return (await fetch(`${web.url}/healthz`)).status;
      })(),
    ]);
    expect(meanwhile).toBe(200);
    expectProblem(slow, 408, 'request-timeout');
    // Headers deadline 1 s, checked every 250 ms; the full request would take 6 s.
    expect(slow.closedAfterMs).toBeDefined();
    expect(slow.closedAfterMs).toBeLessThan(2500);
  });

  it('a client that trickles its body is cut at HTTP_REQUEST_TIMEOUT and enqueues nothing', async () => {
    const body = '{"n":1}' + ' '.repeat(40);
    const head = `POST /api/jobs/fib HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const exchange = await changesNothing(() =>
      rawExchange(web.port, [head, ...body.split('')], { gapMs: 200, timeoutMs: 8000 }),
    );
    expectProblem(exchange, 408, 'request-timeout');
    expect(exchange.closedAfterMs).toBeLessThan(3500);
  });
});

describe('too many event streams from one client', () => {
  it('the stream past SSE_MAX_STREAMS_PER_CLIENT gets 429, and streams that failed hold no slot', async () => {
    const submitted = await api(web.url, 'POST', '/api/jobs/sleep?delay=60000', { json: { ms: 1 } });
    expect(submitted.status).toBe(202);
    const events = (submitted.body as { links: { events: string } }).links.events;
    // Streams of unknown jobs are refused at once and must not count.
    for (let i = 0; i < 5; i++)
      expectProblem(await api(web.url, 'GET', `/api/jobs/${UNKNOWN_ID}/events`), 404, 'job-not-found');

    const controllers = Array.from({ length: 3 }, () => new AbortController());
    const open = await Promise.all(controllers.map((c) => fetch(web.url + events, { signal: c.signal })));
    expect(open.map((r) => r.status)).toEqual([200, 200, 200]);
    const refused = await changesNothing(() => api(web.url, 'GET', events));
    expectProblem(refused, 429, 'too-many-streams');

    controllers[0]?.abort();
    const reopened = await waitFor(async () => {
      const controller = new AbortController();
      const response = await fetch(web.url + events, { signal: controller.signal });
      controllers.push(controller);
      return response.status === 200;
    });
    expect(reopened).toBe(true);
    for (const controller of controllers) controller.abort();
  });
});
