import { startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { waitFor } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharedSubscriber, isReachable, waitForReady, type RedisClient } from '../src/index.js';
import { clientPool } from './client-pool.js';

const pool = clientPool();
let server: RedisServer;
let publisher: RedisClient;
let sequence = 0;

beforeAll(async () => {
  server = await startRedisServer();
  publisher = pool.open({ url: server.url, role: 'producer' });
  await waitForReady(publisher, 5000);
});

afterAll(async () => {
  pool.closeAll();
  await server.stop();
});

/** A shared subscriber on a connection of its own, named so CLIENT LIST can find it. */
function sharedSubscriber(): { shared: SharedSubscriber; client: RedisClient; name: string } {
  const name = `shared-sub-${++sequence}`;
  const client = pool.open({ url: server.url, role: 'subscriber', connectionName: name });
  return { shared: new SharedSubscriber(client), client, name };
}

/** Every message a listener got, and every liveness change it was told. */
function recorder(): {
  messages: string[];
  changes: boolean[];
  handlers: { message(channel: string, payload: string): void; liveChange(live: boolean): void };
} {
  const messages: string[] = [];
  const changes: boolean[] = [];
  return {
    messages,
    changes,
    handlers: {
      message: (channel, payload) => messages.push(`${channel}:${payload}`),
      liveChange: (live) => changes.push(live),
    },
  };
}

async function subscribersOf(channel: string): Promise<number> {
  const reply = (await publisher.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

async function clientLine(name: string): Promise<string | undefined> {
  return String(await publisher.client('LIST'))
    .split('\n')
    .find((line) => line.includes(` name=${name} `));
}

describe('SharedSubscriber', () => {
  it('routes each channel to its own listeners over one connection', async () => {
    const { shared, name } = sharedSubscriber();
    const a = recorder();
    const b = recorder();
    const both = recorder();
    await shared.subscribe(['ch-a'], a.handlers);
    await shared.subscribe(['ch-b'], b.handlers);
    await shared.subscribe(['ch-a', 'ch-b', 'ch-a'], both.handlers);
    expect(shared.live).toBe(true);
    expect(shared.channels().sort()).toEqual(['ch-a', 'ch-b']);

    // One connection, subscribed to each channel once, so PUBLISH counts one receiver.
    expect(await publisher.publish('ch-a', '1')).toBe(1);
    expect(await publisher.publish('ch-b', '2')).toBe(1);
    expect(await publisher.publish('ch-other', '3')).toBe(0);
    await waitFor(() => both.messages.length === 2);
    expect(a.messages).toEqual(['ch-a:1']);
    expect(b.messages).toEqual(['ch-b:2']);
    expect(both.messages).toEqual(['ch-a:1', 'ch-b:2']);
    expect(await clientLine(name)).toMatch(/ sub=2 /);
  });

  it('unsubscribes a channel only when its last listener closes', async () => {
    const { shared } = sharedSubscriber();
    const first = await shared.subscribe(['ch-kept'], recorder().handlers);
    const second = await shared.subscribe(['ch-kept'], recorder().handlers);
    expect(await subscribersOf('ch-kept')).toBe(1);

    await first.close();
    expect(first.live).toBe(false);
    expect(second.live).toBe(true);
    expect(await subscribersOf('ch-kept')).toBe(1);
    await second.close();
    await second.close();
    expect(await subscribersOf('ch-kept')).toBe(0);
    expect(shared.channels()).toEqual([]);

    // A channel can be taken up again afterwards.
    const again = recorder();
    await shared.subscribe(['ch-kept'], again.handlers);
    await publisher.publish('ch-kept', 'back');
    await waitFor(() => again.messages.length === 1);
  });

  it('tells every listener when the connection is lost and when the channels are live again', async () => {
    const { shared, name } = sharedSubscriber();
    const a = recorder();
    const b = recorder();
    const subscription = await shared.subscribe(['ch-lost-a'], a.handlers);
    await shared.subscribe(['ch-lost-b'], b.handlers);
    const id = /\bid=(\d+)\b/.exec((await clientLine(name)) ?? '')?.[1];
    expect(id).toBeDefined();

    await publisher.client('KILL', 'ID', id as string);
    await waitFor(() => a.changes.includes(false) && b.changes.includes(false), {
      description: 'the loss to be reported',
    });
    await waitFor(() => shared.live, { timeoutMs: 10_000, description: 'the subscriber to be live again' });
    expect(a.changes).toEqual([false, true]);
    expect(b.changes).toEqual([false, true]);
    expect(subscription.live).toBe(true);
    // Live means subscribed: a message published now arrives.
    await publisher.publish('ch-lost-a', 'after');
    await publisher.publish('ch-lost-b', 'after');
    await waitFor(() => a.messages.length === 1 && b.messages.length === 1);
  });

  it('comes back with every channel after Redis restarts', async () => {
    const restarted = await startRedisServer();
    const client = pool.open({ url: restarted.url, role: 'subscriber' });
    const probe = pool.open({ url: restarted.url, role: 'consumer' });
    const shared = new SharedSubscriber(client);
    const seen = recorder();
    try {
      await shared.subscribe(['ch-restart-1', 'ch-restart-2'], seen.handlers);
      await restarted.kill('SIGKILL');
      await waitFor(() => !shared.live, { description: 'the loss to be seen' });
      await restarted.restart();
      await waitFor(() => shared.live, { timeoutMs: 15_000, description: 'the subscriber to be live again' });
      await probe.publish('ch-restart-1', 'x');
      await probe.publish('ch-restart-2', 'y');
      await waitFor(() => seen.messages.length === 2);
      expect(seen.messages).toEqual(['ch-restart-1:x', 'ch-restart-2:y']);
      expect(seen.changes).toEqual([false, true]);
    } finally {
      client.disconnect();
      probe.disconnect();
      await restarted.stop();
    }
  });

  it('answers a PING while writes hang, where a command connection cannot', async () => {
    const { shared } = sharedSubscriber();
    await shared.subscribe(['ch-ping'], recorder().handlers);
    const command = pool.open({ url: server.url, role: 'consumer' });
    const pauser = pool.open({ url: server.url, role: 'consumer' });
    await Promise.all([waitForReady(command, 5000), waitForReady(pauser, 5000)]);
    expect(await shared.reachable()).toBe(true);
    await pauser.call('CLIENT', 'PAUSE', '3000', 'WRITE');
    try {
      const write = command.set('paused-key', '1');
      write.catch(() => undefined);
      // The command connection's PING queues behind the paused write.
      expect(await isReachable(command, 500)).toBe(false);
      expect(await shared.reachable(500)).toBe(true);
    } finally {
      await pauser.call('CLIENT', 'UNPAUSE');
    }
  });

  it('refuses an empty subscription and subscribes nothing when Redis refuses', async () => {
    const { shared, client } = sharedSubscriber();
    await expect(shared.subscribe([], recorder().handlers)).rejects.toThrow(TypeError);
    await waitForReady(client, 5000);
    client.disconnect();
    await waitFor(() => client.status === 'end');
    await expect(shared.subscribe(['ch-refused'], recorder().handlers)).rejects.toThrow(/closed/i);
    expect(shared.channels()).toEqual([]);
    expect(await shared.reachable()).toBe(false);
  });
});
