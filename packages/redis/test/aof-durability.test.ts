import { execFileSync } from 'node:child_process';
import { findRedisServer, startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { afterEach, describe, expect, it } from 'vitest';
import { AofDurability, WriteNotDurableError, isRedisUnavailableError, waitForReady } from '../src/index.js';
import { clientPool } from './client-pool.js';

const version = /v=(\d+)\.(\d+)/.exec(
  execFileSync(findRedisServer() ?? 'redis-server', ['--version'], { encoding: 'utf8' }),
);
const HAS_WAITAOF = Number(version?.[1]) > 7 || (Number(version?.[1]) === 7 && Number(version?.[2]) >= 2);

const pool = clientPool();
const servers: RedisServer[] = [];

afterEach(async () => {
  pool.closeAll();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function connected(args: string[]): Promise<{ server: RedisServer; client: ReturnType<typeof pool.open> }> {
  const server = await startRedisServer({ args });
  servers.push(server);
  const client = pool.open({ url: server.url, role: 'producer' });
  await waitForReady(client, 5000);
  return { server, client };
}

describe('AofDurability', () => {
  it('refuses a server without an append-only file, and says how to fix it', async () => {
    const { client } = await connected([]);
    const error = await AofDurability.detect(client).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteNotDurableError);
    expect((error as Error).message).toContain('appendonly yes');
    expect(isRedisUnavailableError(error)).toBe(true);
  });

  it.skipIf(HAS_WAITAOF)('below 7.2 relies on appendfsync always, and checks it again after a reconnect', async () => {
    const { client } = await connected(['--appendonly', 'yes', '--appendfsync', 'always']);
    const durability = await AofDurability.detect(client);
    expect(await durability.mode()).toBe('appendfsync-always');
    expect(await durability.write(() => client.set('k', 'v'))).toBe('OK');

    // Someone weakens the setting; the next reconnect notices, and writes are refused before they run.
    await client.config('SET', 'appendfsync', 'everysec');
    const ready = new Promise((resolve) => client.once('ready', resolve));
    client.disconnect(true);
    await ready;
    await expect(durability.write(() => client.set('k', 'w'))).rejects.toThrow(/appendfsync is everysec/);
    expect(await client.get('k')).toBe('v');
    expect(await AofDurability.detect(client).catch((e: unknown) => e)).toBeInstanceOf(WriteNotDurableError);
  });

  it.skipIf(!HAS_WAITAOF)('from 7.2 on waits for the fsync with WAITAOF', async () => {
    const { client } = await connected(['--appendonly', 'yes', '--appendfsync', 'everysec']);
    const durability = await AofDurability.detect(client);
    expect(await durability.mode()).toBe('waitaof');
    expect(await durability.write(() => client.set('k', 'v'))).toBe('OK');
  });
});
