import type { LookupAddress } from 'node:dns';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AddressPolicy, UrlChecker, type Resolver, type UrlCheckerOptions } from '../src/index.js';
import { closeWhenDone } from './close-when-done.js';
import { probeConnections, type ConnectionProbe } from './connection-probe.js';
import { loopbackServer, type LoopbackServer } from './loopback-server.js';

const FAST = { baseMs: 10, maxMs: 50 };

async function server(): Promise<LoopbackServer> {
  return closeWhenDone(await loopbackServer((_req, res) => res.end('ok')));
}

function checker(options: UrlCheckerOptions = {}): UrlChecker {
  return closeWhenDone(new UrlChecker({ backoff: FAST, maxAttempts: 1, ...options }));
}

function probe(): ConnectionProbe {
  const p = probeConnections();
  onTestFinished(() => p.stop());
  return p;
}

/** A resolver answering from a table, so no test needs DNS; `calls` records each lookup. */
function fakeResolver(answers: (hostname: string, call: number) => string[]): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = (hostname: string): Promise<LookupAddress[]> => {
    calls.push(hostname);
    return Promise.resolve(
      answers(hostname, calls.length).map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  };
  return Object.assign(resolve, { calls });
}

describe('UrlChecker allowlist: refused before any connection', () => {
  it('blocks the loopback server unless its range is allowed', async () => {
    const s = await server();
    const p = probe();
    const result = await checker().check(`${s.url}/`);
    expect(result).toMatchObject({ outcome: 'blocked', ok: false, attempts: 0 });
    expect(result.error).toContain('loopback');
    expect(p.started).toEqual([]);
    expect(s.connections).toBe(0);
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'linkLocal'],
    ['http://[::ffff:169.254.169.254]/latest/meta-data/', 'linkLocal'],
    ['http://[fe80::1]:{port}/', 'linkLocal'],
    ['http://[::1]:{port}/', 'loopback'],
    ['http://[::ffff:127.0.0.1]:{port}/', 'loopback'],
    ['http://[::ffff:7f00:1]:{port}/', 'loopback'],
    ['http://2130706433:{port}/', 'loopback'],
    ['http://0x7f.1:{port}/', 'loopback'],
    ['http://[::127.0.0.1]:{port}/', 'ipv4Compatible'],
    ['http://0.0.0.0:{port}/', 'unspecified'],
    ['http://[::]:{port}/', 'unspecified'],
    ['http://10.0.0.1/', 'private'],
    ['http://172.16.5.4/', 'private'],
    ['http://192.168.1.1/', 'private'],
    ['http://100.64.0.1/', 'carrierGradeNat'],
    ['http://[fd00::1]/', 'uniqueLocal'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://[ff02::1]/', 'multicast'],
    ['http://255.255.255.255/', 'broadcast'],
    ['http://240.0.0.1/', 'reserved'],
    ['http://[64:ff9b::7f00:1]/', 'rfc6052'],
    ['http://[2002:7f00:1::1]/', '6to4'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'metadata'],
    ['http://METADATA.google.internal./computeMetadata/v1/', 'metadata'],
    ['file:///etc/passwd', 'scheme'],
    ['ftp://example.com/', 'scheme'],
    ['http://user:secret@example.com/', 'credentials'],
    ['https://token@example.com/', 'credentials'],
    ['not a url', 'not a valid URL'],
  ])('blocks %s (%s)', async (template, reason) => {
    const s = await server();
    const p = probe();
    const result = await checker().check(template.replace('{port}', String(s.port)));
    expect(result).toMatchObject({ outcome: 'blocked', attempts: 0 });
    expect(result.error).toContain(reason);
    expect(p.started).toEqual([]);
    expect(s.connections).toBe(0);
  });
});

describe('UrlChecker allowlist: judged on the resolved address, as the connection opens', () => {
  it('blocks a host name that resolves to loopback (localhost, through the system resolver)', async () => {
    const s = await server();
    const p = probe();
    const details: string[] = [];
    const result = await checker({ onBlocked: (_url, detail) => details.push(detail) }).check(
      `http://localhost:${s.port}/`,
    );
    expect(result).toMatchObject({ outcome: 'blocked', attempts: 0 });
    // The result, which API clients read, names no internal address; the operator's hook does.
    expect(result.error).toBe('host localhost is not a public address');
    expect(details).toEqual([expect.stringMatching(/localhost resolves to 127\.0\.0\.1, which is loopback/)]);
    expect(p.connected).toEqual([]);
    expect(s.connections).toBe(0);
  });

  it('blocks a name when any of its addresses is refused', async () => {
    const s = await server();
    const resolve = fakeResolver(() => ['127.0.0.1', '10.0.0.1']);
    const details: string[] = [];
    const result = await checker({
      allow: { cidrs: ['127.0.0.0/8'] },
      resolve,
      onBlocked: (_url, detail) => details.push(detail),
    }).check(`http://mixed.test:${s.port}/`);
    expect(result).toMatchObject({ outcome: 'blocked' });
    expect(result.error).not.toContain('10.0.0.1');
    expect(details.join()).toContain('resolves to 10.0.0.1, which is private');
    expect(s.connections).toBe(0);
  });

  it('blocks DNS rebinding: a name that resolved to an allowed address, then to a refused one', async () => {
    const s = closeWhenDone(await loopbackServer((_req, res) => res.writeHead(200, { connection: 'close' }).end()));
    const resolve = fakeResolver((_hostname, call) => (call === 1 ? ['127.0.0.1'] : ['169.254.169.254']));
    const details: string[] = [];
    const c = checker({
      allow: { cidrs: ['127.0.0.0/8'] },
      resolve,
      onBlocked: (_url, detail) => details.push(detail),
    });
    expect(await c.check(`http://rebind.test:${s.port}/`)).toMatchObject({ outcome: 'up' });
    const second = await c.check(`http://rebind.test:${s.port}/`);
    expect(second).toMatchObject({
      outcome: 'blocked',
      attempts: 0,
      error: 'host rebind.test is not a public address',
    });
    expect(details.join()).toContain('resolves to 169.254.169.254, which is linkLocal');
    expect(resolve.calls).toEqual(['rebind.test', 'rebind.test']);
    expect(s.connections).toBe(1);
  });

  it('reports a name with no address as an error, not as blocked', async () => {
    const resolve = fakeResolver(() => []);
    expect(await checker({ resolve }).check('http://nowhere.test/')).toMatchObject({ outcome: 'error', attempts: 1 });
  });
});

describe('UrlChecker allowlist: what it adds', () => {
  it('lets an allowed host name through whatever it resolves to', async () => {
    const s = await server();
    expect(await checker({ allow: { hosts: ['localhost'] } }).check(`http://localhost:${s.port}/`)).toMatchObject({
      outcome: 'up',
    });
    expect(s.connections).toBe(1);
  });

  it('lets subdomains of a *.suffix through, but not the suffix itself', async () => {
    const s = await server();
    const resolve = fakeResolver(() => ['127.0.0.1']);
    const c = checker({ allow: { hosts: ['*.feeds.test'] }, resolve });
    expect(await c.check(`http://a.b.feeds.test:${s.port}/`)).toMatchObject({ outcome: 'up' });
    expect(await c.check(`http://feeds.test:${s.port}/`)).toMatchObject({ outcome: 'blocked' });
  });

  it('reads a flat list as CIDRs and host names', async () => {
    const s = await server();
    const c = checker({ allow: ['127.0.0.0/8', 'localhost'] });
    expect(await c.check(s.url)).toMatchObject({ outcome: 'up' });
    expect(await c.check(`http://localhost:${s.port}/`)).toMatchObject({ outcome: 'up' });
  });

  it('with allowHostsOnly, checks listed hosts only, even inside allowed CIDRs', async () => {
    const s = await server();
    const p = probe();
    const c = checker({ allow: { hosts: ['localhost'], cidrs: ['127.0.0.0/8'] }, allowHostsOnly: true });
    expect(await c.check(`http://localhost:${s.port}/`)).toMatchObject({ outcome: 'up' });
    const refused = await c.check(s.url);
    expect(refused).toMatchObject({ outcome: 'blocked', attempts: 0 });
    expect(refused.error).toContain('not in the allowlist');
    expect(p.started).toEqual([`localhost:${s.port}`]);
  });
});

describe('AddressPolicy', () => {
  it('allows public unicast addresses and refuses the special ranges by name', () => {
    const policy = new AddressPolicy();
    expect(policy.refuseAddress('93.184.215.14')).toBeUndefined();
    expect(policy.refuseAddress('2606:4700::1111')).toBeUndefined();
    expect(policy.refuseAddress('172.31.255.255')).toContain('private');
    expect(policy.refuseAddress('172.32.0.1')).toBeUndefined();
    expect(policy.refuseAddress('::ffff:10.1.2.3')).toContain('private');
    expect(policy.refuseAddress('nonsense')).toContain('not an IP address');
  });

  it('allows explicitly listed CIDRs in either family, IPv4-mapped forms included', () => {
    const policy = new AddressPolicy({ cidrs: ['10.20.0.0/16', 'fd12::/16'] });
    expect(policy.refuseAddress('10.20.3.4')).toBeUndefined();
    expect(policy.refuseAddress('::ffff:10.20.3.4')).toBeUndefined();
    expect(policy.refuseAddress('fd12::5')).toBeUndefined();
    expect(policy.refuseAddress('10.21.0.1')).toContain('private');
  });

  it('matches listed IPv6 hosts however they are written', () => {
    const policy = new AddressPolicy({ hosts: ['FD00:0:0::1'] });
    expect(policy.refuseHost('[fd00::1]')).toBeUndefined();
  });
});
