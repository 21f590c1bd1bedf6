import { afterEach, describe, expect, it } from 'vitest';
import { UrlChecker, backoffDelay } from '../src/index.js';
import { loopbackServer, type LoopbackServer } from './loopback-server.js';

const LOOPBACK = ['127.0.0.0/8'];
const FAST = { baseMs: 10, maxMs: 50 };
const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close();
});

async function server(handle: Parameters<typeof loopbackServer>[0]): Promise<LoopbackServer> {
  const s = await loopbackServer(handle);
  open.push(s);
  return s;
}

function checker(options: ConstructorParameters<typeof UrlChecker>[0] = {}): UrlChecker {
  const c = new UrlChecker({ allow: LOOPBACK, backoff: FAST, ...options });
  open.push(c);
  return c;
}

describe('UrlChecker', () => {
  it('reuses keep-alive connections across checks', async () => {
    const s = await server((_req, res) => res.end('ok'));
    const results = await checker({ connectionsPerOrigin: 2 }).checkAll(Array.from({ length: 50 }, (_, i) => `${s.url}/feed/${i}`), { concurrency: 2 });
    expect(results.every((r) => r.outcome === 'up' && r.status === 200 && r.attempts === 1)).toBe(true);
    expect(s.requests).toBe(50);
    expect(s.connections).toBeLessThanOrEqual(2);
  });

  it('never has more than `concurrency` requests in flight, and uses all of them', async () => {
    const s = await server((_req, res) => setTimeout(() => res.end('ok'), 20));
    await checker({ connectionsPerOrigin: 10 }).checkAll(Array.from({ length: 40 }, (_, i) => `${s.url}/${i}`), { concurrency: 4 });
    expect(s.maxInFlight).toBe(4);
  });

  it('retries a 503 and reports the attempts it took', async () => {
    const s = await server((_req, res, n) => res.writeHead(n < 3 ? 503 : 200).end());
    expect(await checker().check(`${s.url}/health`)).toMatchObject({ outcome: 'up', status: 200, attempts: 3 });
    expect(s.requests).toBe(3);
  });

  it('does not retry a 404: it is an answer', async () => {
    const s = await server((_req, res) => res.writeHead(404).end());
    expect(await checker().check(`${s.url}/gone`)).toMatchObject({ outcome: 'down', status: 404, attempts: 1 });
    expect(s.requests).toBe(1);
  });

  it('waits as long as Retry-After asks on a 429, within the cap', async () => {
    const times: number[] = [];
    const s = await server((_req, res, n) => {
      times.push(Date.now());
      res.writeHead(n === 1 ? 429 : 200, n === 1 ? { 'retry-after': '1' } : {}).end();
    });
    expect(await checker().check(s.url)).toMatchObject({ outcome: 'up', attempts: 2 });
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(900);
  });

  it('gives up after maxAttempts with the last status', async () => {
    const s = await server((_req, res) => res.writeHead(500).end());
    expect(await checker({ maxAttempts: 4 }).check(s.url)).toMatchObject({ outcome: 'down', status: 500, attempts: 4 });
    expect(s.requests).toBe(4);
  });

  it('times out a server that never answers, and retries it', async () => {
    const s = await server(() => {});
    const result = await checker({ timeoutMs: 300, maxAttempts: 2 }).check(s.url);
    expect(result).toMatchObject({ outcome: 'timeout', attempts: 2 });
    expect(result.durationMs).toBeLessThan(10_000);
    expect(s.requests).toBe(2);
  });

  it('reports a refused connection as an error', async () => {
    const s = await loopbackServer(() => {});
    await s.close();
    expect(await checker({ maxAttempts: 2 }).check(s.url)).toMatchObject({ outcome: 'error', attempts: 2 });
  });

  it('reports redirects without following them', async () => {
    const s = await server((_req, res) => res.writeHead(302, { location: 'http://169.254.169.254/' }).end());
    expect(await checker().check(s.url)).toMatchObject({ outcome: 'up', status: 302, attempts: 1 });
    expect(s.requests).toBe(1);
  });
});

describe('UrlChecker address policy', () => {
  it('refuses loopback unless allowed, before connecting', async () => {
    const s = await server((_req, res) => res.end());
    const strict = new UrlChecker({ backoff: FAST });
    open.push(strict);
    const result = await strict.check(`${s.url}/`);
    expect(result).toMatchObject({ outcome: 'blocked', attempts: 0 });
    expect(result.error).toContain('loopback');
    expect(s.connections).toBe(0);
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'linkLocal'],
    ['http://[::1]/', 'loopback'],
    ['http://10.0.0.1/', 'private'],
    ['http://192.168.1.1/', 'private'],
    ['http://100.64.0.1/', 'carrierGradeNat'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[fd00::1]/', 'uniqueLocal'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'metadata'],
    ['file:///etc/passwd', 'scheme'],
    ['ftp://example.com/', 'scheme'],
    ['http://user:secret@example.com/', 'credentials'],
    ['not a url', 'not a valid URL'],
  ])('blocks %s', async (url, reason) => {
    const result = await new UrlChecker().check(url);
    expect(result).toMatchObject({ outcome: 'blocked', attempts: 0 });
    expect(result.error).toContain(reason);
  });

  it('blocks a host name that resolves to a loopback address, at connect time', async () => {
    const s = await server((_req, res) => res.end());
    const strict = new UrlChecker({ backoff: FAST });
    open.push(strict);
    const result = await strict.check(`http://localhost:${s.port}/`);
    expect(result.outcome).toBe('blocked');
    expect(result.error).toContain('loopback');
    expect(s.connections).toBe(0);
  });

  it('lets an explicitly allowed host name through', async () => {
    const s = await server((_req, res) => res.end());
    const allowed = new UrlChecker({ allow: ['localhost'], backoff: FAST });
    open.push(allowed);
    expect(await allowed.check(`http://localhost:${s.port}/`)).toMatchObject({ outcome: 'up' });
  });

  it('rejects an allow entry that is not a CIDR', () => {
    expect(() => new UrlChecker({ allow: ['10.0.0.0/99'] })).toThrow('not a valid CIDR');
  });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with full jitter', () => {
    const policy = { baseMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((retry) => backoffDelay(policy, retry, () => 0.999_999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(200);
  });
});
