import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisNotReadyError, waitForReady } from '../src/index.js';
import { clientPool } from './client-pool.js';

const pool = clientPool();
let dir: string;
let server: RedisServer | undefined;
let url: string;
let caPem: string;

// A throwaway CA and a server certificate it signed for 127.0.0.1, as a managed Redis would
// present; nothing here is trusted by the system.
async function makeCertificates(into: string): Promise<void> {
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: into, stdio: 'ignore', timeout: 10_000 });
  };
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ecKey,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=flotilla-test-ca',
  );
  openssl('req', ...ecKey, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  await writeFile(join(into, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'server.ext',
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-redis-tls-'));
  await makeCertificates(dir);
  caPem = await readFile(join(dir, 'ca.crt'), 'utf8');
  const tlsPort = await freePort();
  server = await startRedisServer({
    args: [
      '--port',
      '0',
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      join(dir, 'server.crt'),
      '--tls-key-file',
      join(dir, 'server.key'),
      '--tls-ca-cert-file',
      join(dir, 'ca.crt'),
      '--tls-auth-clients',
      'no',
    ],
  });
  url = `rediss://127.0.0.1:${tlsPort}`;
});
afterEach(() => pool.closeAll());
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('rediss:// connections', () => {
  it('refuses a certificate it cannot verify when nothing is opted in', async () => {
    const client = pool.open({ url, role: 'producer' });
    const error = await waitForReady(client, 1_000).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RedisNotReadyError);
    expect((error as Error).message).toMatch(/not ready within 1000 ms; last error: .*certificate/);
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toMatch(/CERT|SIGNATURE/);
  });

  it('accepts the self-signed certificate on the connection that opts in, and only there', async () => {
    expect(process.env['NODE_TLS_REJECT_UNAUTHORIZED']).toBeUndefined();
    const trusting = pool.open({ url, role: 'producer', allowSelfSignedTls: true });
    await waitForReady(trusting, 5_000);
    expect(await trusting.set('tls:self-signed', 'ok')).toBe('OK');
    expect(await trusting.get('tls:self-signed')).toBe('ok');

    const strict = pool.open({ url, role: 'producer' });
    await expect(waitForReady(strict, 1_000)).rejects.toThrow(/certificate/);
    expect(process.env['NODE_TLS_REJECT_UNAUTHORIZED']).toBeUndefined();
  });

  it('verifies the server against a given CA', async () => {
    const client = pool.open({ url, role: 'consumer', tlsCa: caPem });
    await waitForReady(client, 5_000);
    expect(await client.set('tls:ca', 'ok')).toBe('OK');
    expect(await client.get('tls:ca')).toBe('ok');
  });
});
