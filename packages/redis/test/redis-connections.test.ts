import { startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { waitFor } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnections, waitForReady, type RedisClient } from '../src/index.js';
import { clientPool } from './client-pool.js';

const pool = clientPool();
let first: RedisServer;
let second: RedisServer;
let admin: RedisClient;

beforeAll(async () => {
  [first, second] = await Promise.all([startRedisServer(), startRedisServer()]);
  admin = pool.open({ url: first.url, role: 'producer' });
  await waitForReady(admin, 5000);
});

afterAll(async () => {
  pool.closeAll();
  await Promise.all([first.stop(), second.stop()]);
});

async function namesOn(server: RedisServer): Promise<string[]> {
  const client = server === first ? admin : pool.open({ url: server.url, role: 'producer' });
  await waitForReady(client, 5000);
  return String(await client.client('LIST'))
    .split('\n')
    .map((line) => / name=(\S*)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith('flotilla:'))
    .sort();
}

function connections(servers: Record<string, string>, service = 'svc'): RedisConnections {
  return new RedisConnections({
    service,
    servers,
    commandRole: 'producer',
    allowSelfSignedTls: false,
    tlsCa: undefined,
    onError: () => undefined,
  });
}

describe('RedisConnections', () => {
  it('opens nothing until asked, then one command and one pub/sub connection per server, shared by every label', async () => {
    const held = connections({ queue: first.url, cache: first.url }, 'shared');
    expect(held.census()).toEqual([]);
    const command = held.command('queue');
    expect(held.command('cache')).toBe(command);
    expect(held.subscriber('cache')).toBe(held.subscriber('queue'));
    await held.subscriber('queue').subscribe(['ch'], { message: () => undefined });
    await waitForReady(command, 5000);

    const pid = process.pid;
    expect((await namesOn(first)).filter((name) => name.startsWith('flotilla:shared:'))).toEqual([
      `flotilla:shared:${pid}:command`,
      `flotilla:shared:${pid}:subscriber`,
    ]);
    expect(held.census()).toEqual([
      { server: 'queue', kind: 'command', open: 1 },
      { server: 'queue', kind: 'subscriber', open: 1 },
    ]);
    await held.closeAll();
  });

  it('names a second server after its label and counts it apart', async () => {
    const held = connections({ queue: first.url, cache: second.url }, 'split');
    await Promise.all([waitForReady(held.command('queue'), 5000), waitForReady(held.command('cache'), 5000)]);
    const events = held.dedicated('queue', 'job-events', 'blocking');
    await waitForReady(events, 5000);
    const pid = process.pid;
    expect((await namesOn(first)).filter((name) => name.startsWith('flotilla:split:'))).toEqual([
      `flotilla:split:${pid}:command`,
      `flotilla:split:${pid}:job-events`,
    ]);
    expect((await namesOn(second)).filter((name) => name.startsWith('flotilla:split:'))).toEqual([
      `flotilla:split:${pid}:cache-command`,
    ]);
    expect(held.census()).toEqual([
      { server: 'queue', kind: 'command', open: 1 },
      { server: 'cache', kind: 'command', open: 1 },
      { server: 'queue', kind: 'blocking', open: 1 },
    ]);
    await held.closeAll();
  });

  it('counts connections a library opened, only while they are connected', async () => {
    const held = connections({ queue: first.url });
    const foreign = pool.open({ url: first.url, role: 'consumer' });
    await waitForReady(foreign, 5000);
    held.track('queue', 'blocking', foreign);
    expect(held.census()).toEqual([{ server: 'queue', kind: 'blocking', open: 1 }]);
    foreign.disconnect();
    await waitFor(() => foreign.status === 'end');
    expect(held.census()).toEqual([{ server: 'queue', kind: 'blocking', open: 0 }]);
    await held.closeAll();
  });

  it('closes every connection it opened, and Redis sees none left', async () => {
    const held = connections({ queue: first.url }, 'closing');
    await waitForReady(held.command('queue'), 5000);
    await held.subscriber('queue').subscribe(['closing'], { message: () => undefined });
    await waitForReady(held.dedicated('queue', 'durable-writes', 'command'), 5000);
    expect((await namesOn(first)).filter((name) => name.startsWith('flotilla:closing:'))).toHaveLength(3);
    await held.closeAll();
    await waitFor(async () => (await namesOn(first)).every((name) => !name.startsWith('flotilla:closing:')), {
      description: 'every connection gone',
    });
    expect(held.census()).toEqual([]);
  });

  it('refuses a server it was not given', () => {
    const held = connections({ queue: first.url });
    expect(() => held.command('cache')).toThrow('RedisConnections has no server labelled "cache"');
    expect(() => connections({})).toThrow(TypeError);
  });
});
