import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRedisServer, freePort, startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitForReady } from '../src/index.js';
import { clientPool } from './client-pool.js';

const pool = clientPool();
let master: RedisServer | undefined;
let sentinel: ChildProcess | undefined;
let sentinelDir: string | undefined;
let sentinelPort: number;

// local-redis cannot start a Sentinel: Sentinel needs a writable config file as its first
// argument, and local-redis puts its own flags first.
async function startSentinel(masterPort: number): Promise<void> {
  sentinelDir = await mkdtemp(join(tmpdir(), 'flotilla-sentinel-'));
  sentinelPort = await freePort();
  const conf = join(sentinelDir, 'sentinel.conf');
  await writeFile(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${sentinelDir}`,
      'daemonize no',
      `sentinel monitor mymaster 127.0.0.1 ${masterPort} 1`,
      '',
    ].join('\n'),
  );
  const child = spawn(findRedisServer() ?? 'redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  sentinel = child;
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sentinel did not start: ${output}`)), 10_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (/\+monitor master mymaster/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sentinel exited (${code}): ${output}`));
    });
  });
  child.stdout?.resume();
  child.stderr?.resume();
}

beforeAll(async () => {
  master = await startRedisServer();
  await startSentinel(master.port);
});
afterEach(() => pool.closeAll());
afterAll(async () => {
  if (sentinel && sentinel.exitCode === null && sentinel.signalCode === null) {
    const exited = new Promise((resolve) => sentinel?.once('exit', resolve));
    sentinel.kill('SIGTERM');
    await exited;
  }
  if (sentinelDir) await rm(sentinelDir, { recursive: true, force: true });
  await master?.stop();
});

describe('redis+sentinel://', () => {
  it('finds the master through the sentinel and uses the database from the URL', async () => {
    const client = pool.open({ url: `redis+sentinel://127.0.0.1:${sentinelPort}/mymaster/2`, role: 'producer' });
    await waitForReady(client, 5_000);
    expect(await client.set('sentinel:k', 'v')).toBe('OK');
    expect(await client.get('sentinel:k')).toBe('v');
    expect(await client.info('server')).toContain(`tcp_port:${master!.port}`);

    const direct = pool.open({ url: `${master!.url}/2`, role: 'producer' });
    await waitForReady(direct, 5_000);
    expect(await direct.get('sentinel:k')).toBe('v');
  });
});
