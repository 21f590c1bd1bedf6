import { isolatedServiceEnv, spawnWeb, type ServiceHandle } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api } from '../support/api.js';

// Wrong credentials are counted per client (its address; the test names one per case through
// X-Forwarded-For, which the default TRUST_PROXY believes from loopback).
const ADMIN = 'ops:correct-horse-battery';
const TOKEN = 'the-metrics-token-of-this-test-0123';
const LIMIT = 3;
let web: ServiceHandle;

beforeAll(async () => {
  web = await spawnWeb({
    ...isolatedServiceEnv(inject('redisUrl')),
    ADMIN_BASIC_AUTH: ADMIN,
    METRICS_BEARER_TOKEN: TOKEN,
    AUTH_FAILURE_LIMIT: String(LIMIT),
  });
});

afterAll(async () => {
  await web?.stop();
});

const basic = (credentials: string): string => `Basic ${Buffer.from(credentials).toString('base64')}`;

describe('credential guessing', () => {
  it(`is answered 429 with Retry-After after ${LIMIT} failures, the right credentials included, on every protected route`, async () => {
    const client = { 'x-forwarded-for': '203.0.113.7' };
    const guesses: [string, string][] = [
      ['/dashboard', basic('ops:wrong-password-1')],
      ['/metrics', 'Bearer wrong-token-wrong-token-wrong'],
      ['/api/admin/queues/default/jobs', basic('ops:wrong-password-2')],
    ];
    for (const [path, authorization] of guesses)
      expect((await api(web.url, 'GET', path, { headers: { ...client, authorization } })).status, path).toBe(401);

    for (const [path, authorization] of [
      ...guesses,
      ['/dashboard', basic(ADMIN)],
      ['/metrics', `Bearer ${TOKEN}`],
    ] as const) {
      const refused = await api(web.url, 'GET', path, { headers: { ...client, authorization } });
      expect(refused.status, path).toBe(429);
      expect(Number(refused.headers.get('retry-after')), path).toBeGreaterThan(0);
      expect((refused.body as { type: string }).type).toBe('urn:flotilla:problem:rate-limited');
    }
    // Requests without credentials are not this limit's business.
    expect((await api(web.url, 'POST', '/api/jobs/fib', { json: { n: 3 }, headers: client })).status).toBe(202);
    // Nor is another client.
    expect(
      (
        await api(web.url, 'GET', '/dashboard', {
          headers: { 'x-forwarded-for': '203.0.113.8', authorization: basic(ADMIN) },
        })
      ).status,
    ).toBe(200);
  });

  it('lets a client that got the credentials right keep using them below the limit', async () => {
    const client = { 'x-forwarded-for': '203.0.113.9' };
    expect(
      (
        await api(web.url, 'GET', '/dashboard', {
          headers: { ...client, authorization: basic('ops:typo-in-the-password') },
        })
      ).status,
    ).toBe(401);
    for (let i = 0; i < 5; i++)
      expect(
        (await api(web.url, 'GET', '/metrics', { headers: { ...client, authorization: `bearer ${TOKEN}` } })).status,
      ).toBe(200);
  });
});
