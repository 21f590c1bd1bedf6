import { createHash } from 'node:crypto';
import { startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { isolatedServiceEnv, spawnWeb, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api } from '../support/api.js';

// Real web processes: one with the defaults (plus an open dashboard, to read its headers), one
// with CORS, a small rate limit and a small stream cap configured. No worker: nothing here needs
// a job to run, and a delayed job keeps its event stream open for as long as a test wants.
const APP = 'https://app.example.com';
let plain: ServiceHandle;
let configured: ServiceHandle;
let client = 0;

/** A client address of its own for each test, told through X-Forwarded-For (the peer is a trusted loopback proxy). */
function newClient(): Record<string, string> {
  client += 1;
  return { 'x-forwarded-for': `198.51.100.${client}` };
}

function directives(csp: string | null): Map<string, string[]> {
  return new Map(
    (csp ?? '')
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name = '', ...values]) => [name, values]),
  );
}

beforeAll(async () => {
  const redisUrl = inject('redisUrl');
  [plain, configured] = await Promise.all([
    spawnWeb({ ...isolatedServiceEnv(redisUrl), DASHBOARD_ALLOW_UNAUTHENTICATED: 'true' }),
    spawnWeb({
      ...isolatedServiceEnv(redisUrl),
      CORS_ORIGINS: `${APP},http://localhost:5173`,
      RATE_LIMIT_REQUESTS: '20',
      RATE_LIMIT_WINDOW_SECONDS: '60',
      SSE_MAX_STREAMS_PER_CLIENT: '2',
    }),
  ]);
});

afterAll(async () => {
  const exits = await Promise.all([plain?.stop(), configured?.stop()]);
  for (const exit of exits) expect(exit).toEqual({ code: 0, signal: null });
});

describe('security headers', () => {
  it.each(['/api/jobs/default.AAAAAAAAAAAAAAAAAAAAAA', '/healthz', '/openapi.json', '/', '/api/nothing-here'])(
    'are on %s',
    async (path) => {
      const response = await fetch(plain.url + path);
      await response.arrayBuffer();
      const headers = response.headers;
      const csp = directives(headers.get('content-security-policy'));
      expect(csp.get('default-src')).toEqual(["'self'"]);
      expect(csp.get('script-src')).toEqual(["'self'"]);
      expect(csp.get('object-src')).toEqual(["'none'"]);
      expect(csp.get('frame-ancestors')).toEqual(["'self'"]);
      expect(csp.has('upgrade-insecure-requests')).toBe(false);
      expect(headers.get('x-content-type-options')).toBe('nosniff');
      expect(headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(headers.get('referrer-policy')).toBe('no-referrer');
      expect(headers.get('cross-origin-resource-policy')).toBe('same-origin');
      expect(headers.get('x-powered-by')).toBeNull();
    },
  );

  it('are replayed with pages served from the page cache', async () => {
    await (await fetch(`${plain.url}/articles/1`)).text();
    const hit = await waitFor(async () => {
      const response = await fetch(`${plain.url}/articles/1`);
      await response.text();
      return response.headers.get('x-cache') === 'HIT' ? response : undefined;
    });
    expect(hit?.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(hit?.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it("let the dashboard's own inline script run, and no other", async () => {
    const response = await api(plain.url, 'GET', '/dashboard');
    expect(response.status).toBe(200);
    const inline = [...response.text.matchAll(/<script(?![^>]*\b(?:src|type)=)[^>]*>([\s\S]*?)<\/script>/g)].map(
      (m) => m[1] ?? '',
    );
    expect(inline).toHaveLength(1);
    const allowed = directives(response.headers.get('content-security-policy')).get('script-src');
    expect(allowed).toEqual([
      "'self'",
      ...inline.map((script) => `'sha256-${createHash('sha256').update(script).digest('base64')}'`),
    ]);
  });

  it('keep bull-board working: its scripts come from this origin, its styles and fonts are allowed', async () => {
    const response = await api(plain.url, 'GET', '/dashboard/jobs');
    expect(response.status).toBe(200);
    const scripts = [...response.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    // Executable scripts are files of this origin; the only inline one is JSON data.
    for (const [, attributes = '', body = ''] of scripts) {
      if (/\bsrc="static\//.test(attributes)) continue;
      expect(attributes).toContain('type="application/json"');
      expect(body.length).toBeGreaterThan(0);
    }
    const csp = directives(response.headers.get('content-security-policy'));
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('style-src')).toEqual(expect.arrayContaining(["'self'", 'https:', "'unsafe-inline'"]));
    expect(csp.get('font-src')).toEqual(expect.arrayContaining(['https:']));
  });
});

describe('CORS', () => {
  it('is off by default: no Access-Control headers, not even on a preflight', async () => {
    const read = await fetch(`${plain.url}/api/jobs/default.AAAAAAAAAAAAAAAAAAAAAA`, { headers: { origin: APP } });
    await read.text();
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${plain.url}/api/jobs/fib`, {
      method: 'OPTIONS',
      headers: {
        origin: APP,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    await preflight.text();
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('answers the configured origins, and only them', async () => {
    const headers = newClient();
    const allowed = await fetch(`${configured.url}/api/jobs/default.AAAAAAAAAAAAAAAAAAAAAA`, {
      headers: { ...headers, origin: APP },
    });
    await allowed.text();
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP);
    expect(allowed.headers.get('vary')).toContain('Origin');
    expect(allowed.headers.get('access-control-expose-headers')).toContain('retry-after');
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();

    const other = await fetch(`${configured.url}/api/jobs/default.AAAAAAAAAAAAAAAAAAAAAA`, {
      headers: { ...headers, origin: 'https://evil.example' },
    });
    await other.text();
    expect(other.headers.get('access-control-allow-origin')).toBeNull();

    const preflight = await fetch(`${configured.url}/api/jobs/fib`, {
      method: 'OPTIONS',
      headers: {
        ...headers,
        origin: APP,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,idempotency-key',
      },
    });
    await preflight.text();
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('idempotency-key');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
  });
});

describe('per-client rate limit', () => {
  async function status(
    headers: Record<string, string>,
    path = '/api/jobs/default.AAAAAAAAAAAAAAAAAAAAAA',
  ): Promise<number> {
    return (await api(configured.url, 'GET', path, { headers })).status;
  }

  it('answers 429 problem JSON with Retry-After past the limit, per client', async () => {
    const headers = newClient();
    for (let i = 0; i < 20; i++) expect(await status(headers)).toBe(404);
    const refused = await api(configured.url, 'POST', '/api/jobs/fib', {
      json: { n: 1 },
      headers: { ...headers, origin: APP },
    });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body).toMatchObject({
      type: 'urn:flotilla:problem:rate-limited',
      status: 429,
      title: 'Too many requests',
    });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
    // A browser page on an allowed origin can read the refusal and when to retry.
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP);

    // Another client is not affected, nor are routes outside the API.
    expect(await status(newClient())).toBe(404);
    expect((await api(configured.url, 'GET', '/healthz', { headers })).status).toBe(200);
  });

  it('counts the addresses of one IPv6 /64 as one client', async () => {
    for (let i = 1; i <= 20; i++)
      expect(await status({ 'x-forwarded-for': `2001:db8:7::${i.toString(16)}` })).toBe(404);
    expect(await status({ 'x-forwarded-for': '2001:db8:7:0:ffff:ffff:ffff:ffff' })).toBe(429);
    expect(await status({ 'x-forwarded-for': '::ffff:198.51.100.200' })).toBe(404);
    expect(await status({ 'x-forwarded-for': '2001:db8:7:1::1' })).toBe(404);
  });

  it('is not fooled by a client that forges X-Forwarded-For behind a proxy', async () => {
    const proxied = { 'x-forwarded-for': '203.0.113.9' };
    for (let i = 0; i < 20; i++) expect(await status(proxied)).toBe(404);
    // The trusted proxy appends the real address after whatever the client claimed.
    expect(await status({ 'x-forwarded-for': '198.51.100.250, 203.0.113.9' })).toBe(429);
  });
});

describe('event streams per client', () => {
  it('caps the streams one client holds open at SSE_MAX_STREAMS_PER_CLIENT, and frees a slot when one closes', async () => {
    const headers = newClient();
    const submitted = await api(configured.url, 'POST', '/api/jobs/sleep?delay=60000', { json: { ms: 1 }, headers });
    expect(submitted.status).toBe(202);
    const events = `${configured.url}${(submitted.body as { links: { events: string } }).links.events}`;
    const open = async (from = headers): Promise<{ response: Response; close: () => void }> => {
      const controller = new AbortController();
      const response = await fetch(events, { headers: from, signal: controller.signal });
      return { response, close: () => controller.abort() };
    };
    const first = await open();
    const second = await open();
    expect([first.response.status, second.response.status]).toEqual([200, 200]);

    const third = await api(configured.url, 'GET', new URL(events).pathname, { headers });
    expect(third.status).toBe(429);
    expect(third.headers.get('content-type')).toContain('application/problem+json');
    expect(third.body).toMatchObject({ type: 'urn:flotilla:problem:too-many-streams', status: 429 });
    // Another client may still open one.
    const other = await open(newClient());
    expect(other.response.status).toBe(200);
    other.close();

    first.close();
    const again = await waitFor(async () => {
      const attempt = await open();
      if (attempt.response.status === 200) return attempt;
      await attempt.response.text();
      return undefined;
    });
    again?.close();
    second.close();
  });
});

describe('Redis for the rate limit unreachable', () => {
  let cacheRedis: RedisServer;
  let web: ServiceHandle;

  beforeAll(async () => {
    cacheRedis = await startRedisServer();
    web = await spawnWeb({
      ...isolatedServiceEnv(inject('redisUrl')),
      CACHE_REDIS_URL: cacheRedis.url,
      RATE_LIMIT_REQUESTS: '3',
      LOG_LEVEL: 'info',
    });
  });

  afterAll(async () => {
    await web?.stop();
    await cacheRedis?.stop();
  });

  it('never answers 500: it keeps limiting in process memory, says so once, and returns to Redis when it is back', async () => {
    await cacheRedis.kill('SIGKILL');
    const headers = newClient();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await api(web.url, 'GET', '/api/jobs/default.AAAAAAAAAAAAAAAAAAAAAA', { headers })).status);
    expect(statuses).toEqual([404, 404, 404, 429]);
    expect(web.logs().match(/rate limiter cannot reach Redis/g)).toHaveLength(1);

    await cacheRedis.restart();
    await waitFor(
      async () => {
        await api(web.url, 'GET', '/api/jobs/default.AAAAAAAAAAAAAAAAAAAAAA', { headers: newClient() });
        return web.logs().includes('rate limiter reaches Redis again');
      },
      { timeoutMs: 15_000, description: 'the rate limiter to use Redis again' },
    );
  });
});
