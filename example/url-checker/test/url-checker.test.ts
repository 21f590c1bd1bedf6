import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { InvalidUrlCheckerOption, UrlChecker, type UrlCheckerOptions } from '../src/index.js';
import { closeWhenDone } from './close-when-done.js';
import { closedPort, loopbackServer, type Handler, type LoopbackServer } from './loopback-server.js';

const FAST = { baseMs: 10, maxMs: 50 };

async function server(handle: Handler): Promise<LoopbackServer> {
  return closeWhenDone(await loopbackServer(handle));
}

/** A checker allowed to reach the test's loopback servers, with short backoff. */
function checker(options: UrlCheckerOptions = {}): UrlChecker {
  return closeWhenDone(new UrlChecker({ allow: { cidrs: ['127.0.0.0/8'] }, backoff: FAST, ...options }));
}

/**
 * Holds responses until `size` requests are in flight (across every server using it), then
 * answers them all, so a concurrency bound is reached on any machine, however slow; a timer
 * releases a short last group.
 */
function gate(size: number): { handle: Handler; readonly maxInFlight: number } {
  const held: ServerResponse[] = [];
  let maxInFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  const release = (): void => {
    clearTimeout(timer);
    for (const res of held.splice(0)) res.end('ok');
  };
  return {
    handle(_req, res) {
      held.push(res);
      maxInFlight = Math.max(maxInFlight, held.length);
      clearTimeout(timer);
      if (held.length >= size) release();
      else timer = setTimeout(release, 1000);
    },
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

describe('UrlChecker connection pool', () => {
  it('reuses keep-alive connections: 50 checks over at most connectionsPerOrigin connections', async () => {
    const s = await server((_req, res) => res.end('ok'));
    const urls = Array.from({ length: 50 }, (_, i) => `${s.url}/feed/${i}`);
    const results = await checker({ connectionsPerOrigin: 2 }).checkAll(urls, { concurrency: 5 });
    expect(results.map((r) => [r.outcome, r.ok, r.status, r.attempts])).toEqual(urls.map(() => ['up', true, 200, 1]));
    expect(s.requests).toBe(50);
    expect(s.connections).toBeLessThanOrEqual(2);
  });

  it('destroys its pooled connections on close, and a later check fails without retrying', async () => {
    const s = await server((_req, res) => res.end('ok'));
    const c = new UrlChecker({ allow: { cidrs: ['127.0.0.0/8'] }, backoff: FAST });
    await c.check(s.url);
    const [socket] = [...s.sockets];
    expect(socket).toBeDefined();
    await Promise.all([c.close(), socket && once(socket, 'close')]);
    expect(s.sockets.size).toBe(0);
    expect(await c.check(s.url)).toMatchObject({ outcome: 'error', ok: false, attempts: 1 });
  });
});

describe('UrlChecker.checkAll', () => {
  it('never has more than `concurrency` requests in flight, and reaches that many', async () => {
    const g = gate(4);
    const s = await server(g.handle);
    await checker({ connectionsPerOrigin: 10 }).checkAll(
      Array.from({ length: 40 }, (_, i) => `${s.url}/${i}`),
      { concurrency: 4 },
    );
    expect(s.requests).toBe(40);
    expect(g.maxInFlight).toBe(4);
  });

  it('bounds concurrency across origins, not per origin', async () => {
    const g = gate(3);
    const [a, b] = [await server(g.handle), await server(g.handle)];
    const urls = Array.from({ length: 30 }, (_, i) => `${i % 2 ? a.url : b.url}/${i}`);
    await checker({ connectionsPerOrigin: 10 }).checkAll(urls, { concurrency: 3 });
    expect(a.requests + b.requests).toBe(30);
    expect(g.maxInFlight).toBe(3);
  });

  it('returns a result per URL in input order and never throws for a bad one', async () => {
    const s = await server((_req, res) => res.end('ok'));
    const results = await checker().checkAll(['not a url', `${s.url}/a`, 'ftp://127.0.0.1/'], { concurrency: 2 });
    expect(results.map((r) => [r.url, r.outcome])).toEqual([
      ['not a url', 'blocked'],
      [`${s.url}/a`, 'up'],
      ['ftp://127.0.0.1/', 'blocked'],
    ]);
  });

  it('rejects a concurrency that is not a positive integer', async () => {
    await expect(checker().checkAll([], { concurrency: 0 })).rejects.toThrow(InvalidUrlCheckerOption);
  });
});

describe('UrlChecker retries', () => {
  it('retries a 503 and reports the attempts it took', async () => {
    const s = await server((_req, res, n) => res.writeHead(n < 3 ? 503 : 200).end());
    expect(await checker().check(`${s.url}/health`)).toMatchObject({
      outcome: 'up',
      ok: true,
      status: 200,
      attempts: 3,
    });
    expect(s.requests).toBe(3);
  });

  it('does not retry a 404: it is an answer', async () => {
    const s = await server((_req, res) => res.writeHead(404).end());
    expect(await checker().check(`${s.url}/gone`)).toMatchObject({
      outcome: 'down',
      ok: false,
      status: 404,
      attempts: 1,
    });
    expect(s.requests).toBe(1);
  });

  it('waits as long as Retry-After asks on a 429', async () => {
    const times: number[] = [];
    const s = await server((_req, res, n) => {
      times.push(Date.now());
      res.writeHead(n === 1 ? 429 : 200, n === 1 ? { 'retry-after': '1' } : {}).end();
    });
    expect(await checker().check(s.url)).toMatchObject({ outcome: 'up', attempts: 2 });
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(900);
  });

  it('cuts a long Retry-After to maxRetryAfterMs, and reports the last 429 when attempts run out', async () => {
    const s = await server((_req, res) => res.writeHead(429, { 'retry-after': '3600' }).end());
    const result = await checker({ maxAttempts: 2, maxRetryAfterMs: 100 }).check(s.url);
    expect(result).toMatchObject({ outcome: 'down', status: 429, attempts: 2 });
    expect(result.durationMs).toBeLessThan(10_000);
    expect(s.requests).toBe(2);
  });

  it('gives up after maxAttempts with the last status', async () => {
    const s = await server((_req, res) => res.writeHead(500).end());
    expect(await checker({ maxAttempts: 4 }).check(s.url)).toMatchObject({ outcome: 'down', status: 500, attempts: 4 });
    expect(s.requests).toBe(4);
  });
});

describe('UrlChecker failures', () => {
  it('times out a server that never answers, and retries it', async () => {
    const s = await server(() => {});
    const result = await checker({ timeoutMs: 300, maxAttempts: 2 }).check(s.url);
    expect(result).toMatchObject({ outcome: 'timeout', ok: false, attempts: 2 });
    expect(result.error).toMatch(/timeout/i);
    expect(result.durationMs).toBeLessThan(15_000);
    expect(s.requests).toBe(2);
  });

  it('times out a body that stops arriving', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
    });
    const result = await checker({ bodyTimeoutMs: 300, maxAttempts: 1 }).check(s.url);
    expect(result).toMatchObject({ outcome: 'timeout', attempts: 1 });
    expect(result.error).toMatch(/body timeout/i);
  });

  it('times out a body that trickles in, by the attempt timeout', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      const drip = setInterval(() => res.write('x'), 50);
      res.once('close', () => clearInterval(drip));
    });
    const result = await checker({ bodyTimeoutMs: 5000, attemptTimeoutMs: 500, maxAttempts: 1 }).check(s.url);
    expect(result).toMatchObject({ outcome: 'timeout', attempts: 1 });
    expect(result.durationMs).toBeLessThan(15_000);
  });

  it('reports a refused connection as an error, after the retries', async () => {
    const port = await closedPort();
    const result = await checker({ maxAttempts: 2 }).check(`http://127.0.0.1:${port}/`);
    expect(result).toMatchObject({ outcome: 'error', ok: false, attempts: 2 });
    expect(result.error).toContain('ECONNREFUSED');
  });
});

describe('UrlChecker redirects', () => {
  it('reports a redirect as up without following it', async () => {
    const s = await server((_req, res) => res.writeHead(302, { location: 'http://169.254.169.254/' }).end());
    expect(await checker().check(s.url)).toMatchObject({ outcome: 'up', status: 302, attempts: 1 });
    expect(s.requests).toBe(1);
  });

  it("reports a redirect as down with redirects: 'down'", async () => {
    const s = await server((_req, res) => res.writeHead(301, { location: '/elsewhere' }).end());
    expect(await checker({ redirects: 'down' }).check(s.url)).toMatchObject({
      outcome: 'down',
      status: 301,
      attempts: 1,
    });
    expect(s.requests).toBe(1);
  });
});

describe('UrlChecker options', () => {
  it.each<[UrlCheckerOptions, string]>([
    [{ maxAttempts: 0 }, 'maxAttempts'],
    [{ timeoutMs: -1 }, 'timeoutMs'],
    [{ connectionsPerOrigin: 1.5 }, 'connectionsPerOrigin'],
    [{ backoff: { baseMs: 100, maxMs: 10 } }, 'backoff.maxMs'],
    [{ allow: { cidrs: ['10.0.0.0/99'] } }, 'allow.cidrs'],
    [{ allow: { hosts: ['bad host'] } }, 'allow.hosts'],
    [{ allowHostsOnly: true }, 'allowHostsOnly'],
  ])('refuses %j, naming %s', (options, option) => {
    expect(() => new UrlChecker(options)).toThrow(expect.objectContaining({ name: 'InvalidUrlCheckerOption', option }));
  });
});
