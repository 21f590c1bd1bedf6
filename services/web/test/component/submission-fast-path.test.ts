import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { catalog } from '@flotilla/jobs';
import { JobProducer } from '@flotilla/queue';
import { createRedis, type RedisClient } from '@flotilla/redis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SubmissionFastPath } from '../../src/submission-fast-path.js';

// Which requests the fast path takes and which it leaves to Express. That the two answer alike
// is the e2e test's (test/e2e/submission-fast-path.test.ts).
const BODY_LIMIT = 1000;
let redis: RedisClient;
let producer: JobProducer;
let draining = false;
let fastPath: SubmissionFastPath;

beforeAll(() => {
  redis = createRedis({ url: inject('redisUrl'), role: 'producer' });
  producer = new JobProducer({
    catalog,
    connection: redis,
    prefix: '{fast-path-test}',
    retention: { completedMs: 60_000, failedMs: 60_000, count: 10, eventsMaxLen: 10 },
    idempotencySecret: 'x'.repeat(32),
  });
  fastPath = new SubmissionFastPath({
    producer,
    jobTypes: catalog.publicContracts.map((c) => c.name),
    bodyLimitBytes: BODY_LIMIT,
    rateLimiter: undefined,
    cors: undefined,
    trustProxy: () => false,
    isDraining: () => draining,
    answerError: () => undefined,
  });
});

afterAll(async () => {
  await producer?.close();
  redis?.disconnect();
});

function request(method: string, url: string, headers: Record<string, string>, httpVersion = '1.1'): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.method = method;
  req.url = url;
  req.httpVersion = httpVersion;
  req.headers = headers;
  return req;
}

const PLAIN = { host: 'localhost', 'content-type': 'application/json', 'content-length': '7' };

describe('the requests the submission fast path takes', () => {
  it.each([
    { name: 'a plain JSON submission', headers: PLAIN, length: 7 },
    {
      name: 'charset=utf-8, in any case',
      headers: { ...PLAIN, 'content-type': 'Application/JSON; Charset=UTF-8' },
      length: 7,
    },
    { name: 'no body at all', headers: { host: 'localhost', 'content-type': 'application/json' }, length: 0 },
    {
      name: 'a body of exactly the limit',
      headers: { ...PLAIN, 'content-length': String(BODY_LIMIT) },
      length: BODY_LIMIT,
    },
    {
      name: 'an Idempotency-Key (checked while answering)',
      headers: { ...PLAIN, 'idempotency-key': 'bad key with spaces' },
      length: 7,
    },
    { name: 'HTTP/1.0 without Host', headers: { 'content-type': 'application/json' }, httpVersion: '1.0', length: 0 },
  ])('takes $name', ({ headers, httpVersion, length }) => {
    expect(fastPath.takes(request('POST', '/api/jobs/fib', headers, httpVersion))).toEqual({ type: 'fib', length });
  });

  it.each([
    { name: 'another method', method: 'PUT', url: '/api/jobs/fib', headers: PLAIN },
    { name: 'a query string', url: '/api/jobs/fib?delay=10', headers: PLAIN },
    { name: 'an unknown type', url: '/api/jobs/nope', headers: PLAIN },
    { name: 'an internal type', url: '/api/jobs/refresh-fragment', headers: PLAIN },
    { name: 'a type in another case', url: '/api/jobs/FIB', headers: PLAIN },
    { name: 'a trailing slash', url: '/api/jobs/fib/', headers: PLAIN },
    { name: 'an escaped path', url: '/api/jobs/%66ib', headers: PLAIN },
    { name: 'no Content-Type', headers: { host: 'localhost', 'content-length': '7' } },
    { name: 'another media type', headers: { ...PLAIN, 'content-type': 'text/plain' } },
    { name: 'a +json media type', headers: { ...PLAIN, 'content-type': 'application/problem+json' } },
    { name: 'another charset', headers: { ...PLAIN, 'content-type': 'application/json; charset=utf-16' } },
    { name: 'a compressed body', headers: { ...PLAIN, 'content-encoding': 'gzip' } },
    {
      name: 'a chunked body',
      headers: { host: 'localhost', 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    },
    { name: 'a body over the limit', headers: { ...PLAIN, 'content-length': String(BODY_LIMIT + 1) } },
    { name: 'credentials', headers: { ...PLAIN, authorization: 'Bearer x' } },
    { name: 'HTTP/1.1 without Host', headers: { 'content-type': 'application/json', 'content-length': '7' } },
  ])('leaves $name to Express', ({ method, url, headers }) => {
    expect(fastPath.takes(request(method ?? 'POST', url ?? '/api/jobs/fib', headers))).toBeUndefined();
  });

  it('leaves every request to Express while the process drains', () => {
    draining = true;
    try {
      expect(fastPath.takes(request('POST', '/api/jobs/fib', PLAIN))).toBeUndefined();
    } finally {
      draining = false;
    }
  });
});
