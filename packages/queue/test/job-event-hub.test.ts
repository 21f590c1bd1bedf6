import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createRedis, waitForReady, type RedisClient } from '@flotilla/redis';
import { createLogger } from '@flotilla/telemetry';
import { uniqueQueuePrefix, waitFor } from '@flotilla/testkit';
import { Queue, Worker } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startRedisServer } from '@flotilla/local-redis';
import { JobEventHub, QueueShards, REPLAY_SCAN_LIMIT, newJobId, type JobEvent } from '../src/index.js';
import { StreamTail, type StreamEntry } from '../src/stream-tail.js';

const logger = createLogger({ service: 'web', level: 'silent' });
const opened: { close(): Promise<unknown> }[] = [];

afterEach(async () => {
  await Promise.all(
    opened
      .splice(0)
      .reverse()
      .map((o) => o.close()),
  );
});

function client(role: 'producer' | 'consumer', name?: string, url = inject('redisUrl')): RedisClient {
  const redis = createRedis({ url, role, ...(name ? { connectionName: name } : {}) }).on('error', () => undefined);
  opened.push({ close: () => redis.quit().catch(() => redis.disconnect()) });
  return redis;
}

async function admin(): Promise<RedisClient> {
  const redis = client('producer');
  await waitForReady(redis, 5000);
  return redis;
}

/** CLIENT LIST lines of the connections named `name`. */
async function connectionsNamed(redis: RedisClient, name: string): Promise<string[]> {
  return String(await redis.client('LIST'))
    .split('\n')
    .filter((line) => line.includes(` name=${name} `));
}

/** A hub as the web has it: its reader connection ready (fail-fast, it refuses commands before). */
async function hub(queues: readonly string[], prefix: string, blockingName: string): Promise<JobEventHub> {
  const reader = client('producer');
  await waitForReady(reader, 5000);
  const events = new JobEventHub({
    queues,
    shards: new QueueShards(prefix, 1),
    blocking: () => client('consumer', blockingName),
    reader,
    logger,
  });
  opened.push(events);
  return events;
}

/** A started hub on fresh stream keys, its blocking connection's name, and an admin client. */
async function startedHub(
  queues: readonly string[],
): Promise<{ events: JobEventHub; prefix: string; blockingName: string; redis: RedisClient }> {
  const prefix = uniqueQueuePrefix();
  const blockingName = `hub-${randomBytes(4).toString('hex')}`;
  const events = await hub(queues, prefix, blockingName);
  await events.waitUntilReady();
  return { events, prefix, blockingName, redis: await admin() };
}

/** Whether the connection named `name` is blocked in a read now. */
async function blocked(redis: RedisClient, name: string): Promise<boolean> {
  return / flags=\w*b/.test((await connectionsNamed(redis, name))[0] ?? '');
}

describe('JobEventHub', () => {
  it('follows the event streams of every queue over one blocking connection', async () => {
    const names = ['alpha', 'beta', 'gamma'];
    const { events, prefix, blockingName, redis } = await startedHub(names);

    const queues = names.map((name) => new Queue(name, { connection: redis, prefix }));
    opened.push(...queues);
    const ids = names.map((name) => newJobId(name));
    const jobs = await Promise.all(queues.map((q, i) => q.add('t', { i }, { jobId: ids[i] as string, attempts: 1 })));
    const seen = new Map<string, JobEvent[]>();
    for (const job of jobs) {
      const list: JobEvent[] = [];
      seen.set(job.id as string, list);
      events.subscribe(job.id as string, (event) => list.push(event));
    }
    const workers = names.map(
      (name) =>
        new Worker(
          name,
          async (job) => {
            await job.updateProgress(50);
            if (name === 'gamma') throw new Error('gamma fails');
            return { done: job.data as unknown };
          },
          { connection: { url: inject('redisUrl') }, prefix },
        ),
    );
    opened.push(...workers);
    await waitFor(
      () => [...seen.values()].every((list) => list.some((e) => e.type === 'completed' || e.type === 'failed')),
      {
        description: 'every job to end',
      },
    );

    const [alpha = '', beta = '', gamma = ''] = ids;
    expect(seen.get(alpha)?.map((e) => e.type)).toEqual(['active', 'progress', 'completed']);
    expect(seen.get(alpha)?.find((e) => e.type === 'progress')?.data).toBe(50);
    expect(seen.get(beta)?.at(-1)).toMatchObject({ type: 'completed', data: { done: { i: 1 } } });
    expect(seen.get(gamma)?.at(-1)).toMatchObject({ type: 'failed', data: 'gamma fails' });
    // The live events are the stream's: a replay from their ids gives the same.
    const live = seen.get(beta) ?? [];
    const oldest =
      ((await redis.xrange(`${prefix}:beta:events`, '-', '+', 'COUNT', 1)) as [string, string[]][])[0]?.[0] ?? '';
    expect(await events.eventsBetween(beta, oldest, live.at(-1)?.id ?? '+')).toEqual(live);

    const held = await connectionsNamed(redis, blockingName);
    expect(held).toHaveLength(1);
    expect(held[0]).toMatch(/ cmd=xread /);
  });

  it('delivers every entry once and in order while its connection is killed again and again', async () => {
    const { events, prefix, blockingName, redis } = await startedHub(['one', 'two']);
    const received: number[] = [];
    const [x, y] = [newJobId('one'), newJobId('two')];
    const leaveX = events.subscribe(x, (event) => received.push(Number(event.data)));
    const leaveY = events.subscribe(y, (event) => received.push(Number(event.data)));
    expect(events.listenerCount).toBe(2);

    const total = 300;
    const writing = (async () => {
      for (let i = 0; i < total; i++) {
        const [queue, jobId] = i % 2 === 0 ? ['one', x] : ['two', y];
        await redis.xadd(`${prefix}:${queue}:events`, '*', 'event', 'progress', 'jobId', jobId, 'data', String(i));
        if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    for (let kill = 0; kill < 3; kill++) {
      await waitFor(() => received.length > (kill + 1) * 50, { description: `progress before kill ${kill + 1}` });
      const id = /\bid=(\d+)\b/.exec((await connectionsNamed(redis, blockingName))[0] ?? '')?.[1];
      if (id) await redis.client('KILL', 'ID', id);
    }
    await writing;
    await waitFor(() => received.length >= total, { timeoutMs: 15_000, description: 'every entry' });
    // Each stream (each job) in its own order; one read may hand over one stream's entries before the other's.
    const all = Array.from({ length: total }, (_, i) => i);
    expect(received.filter((n) => n % 2 === 0)).toEqual(all.filter((n) => n % 2 === 0));
    expect(received.filter((n) => n % 2 === 1)).toEqual(all.filter((n) => n % 2 === 1));
    expect(received).toHaveLength(total);
    leaveX();
    leaveY();
    leaveY();
    expect(events.listenerCount).toBe(0);
  });

  it('sees nothing of what the streams held before it started', async () => {
    const prefix = uniqueQueuePrefix();
    const redis = await admin();
    const jobId = newJobId('old');
    await redis.xadd(`${prefix}:old:events`, '*', 'event', 'progress', 'jobId', jobId, 'data', '"before"');
    const events = await hub(['old'], prefix, `hub-${randomBytes(4).toString('hex')}`);
    await events.waitUntilReady();
    const received: unknown[] = [];
    events.subscribe(jobId, (event) => received.push(event.data));
    await redis.xadd(`${prefix}:old:events`, '*', 'event', 'progress', 'jobId', jobId, 'data', '"after"');
    await waitFor(() => received.length === 1);
    expect(received).toEqual(['after']);
  });

  it('reads nothing while nobody follows a job, and misses nothing once somebody does', async () => {
    const { events, prefix, blockingName, redis } = await startedHub(['busy']);
    const stream = `${prefix}:busy:events`;
    const write = (jobId: string, data: string): Promise<unknown> =>
      redis.xadd(stream, '*', 'event', 'progress', 'jobId', jobId, 'data', data);
    const first = newJobId('busy');
    const leave = events.subscribe(first, () => undefined);
    await waitFor(() => blocked(redis, blockingName), { description: 'the tail reading for a listener' });
    leave();
    // Its last read returns with these entries; then it rests, blocked in no read.
    for (let i = 0; i < 50; i++) await write(first, String(i));
    await waitFor(async () => !(await blocked(redis, blockingName)), { description: 'the tail at rest' });
    for (let i = 0; i < 50; i++) await write(first, String(i));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await blocked(redis, blockingName)).toBe(false);

    // A listener wakes it from the newest entry: what comes next reaches it, nothing before.
    const second = newJobId('busy');
    const received: unknown[] = [];
    events.subscribe(second, (event) => received.push(event.data));
    const horizon = await events.lastEventId(second);
    await write(second, '"next"');
    await waitFor(() => received.length === 1, { description: 'the entry after waking' });
    expect(received).toEqual(['next']);
    expect(horizon).not.toBe('0-0');
  });

  it('closes promptly while blocked, ending its connection', async () => {
    const { events, blockingName, redis } = await startedHub(['quiet']);
    events.subscribe(newJobId('quiet'), () => undefined);
    await waitFor(async () => (await connectionsNamed(redis, blockingName))[0]?.includes(' cmd=xread '), {
      description: 'the read to block',
    });
    const started = Date.now();
    await events.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await waitFor(async () => (await connectionsNamed(redis, blockingName)).length === 0, {
      description: 'the connection to be gone',
    });
  });
});

describe('JobEventHub replay (Last-Event-ID)', () => {
  /** Bytes Redis sent to its clients so far. */
  async function bytesSent(redis: RedisClient): Promise<number> {
    return Number(/total_net_output_bytes:(\d+)/.exec(await redis.info('stats'))?.[1]);
  }

  it('reads nothing from before the job existed, and at most REPLAY_SCAN_LIMIT entries after', async () => {
    const server = await startRedisServer();
    opened.push({ close: () => server.stop() });
    const redis = client('producer', undefined, server.url);
    await waitForReady(redis, 5000);
    const prefix = uniqueQueuePrefix();
    const key = `${prefix}:busy:events`;
    const events = new JobEventHub({
      queues: ['busy'],
      shards: new QueueShards(prefix, 1),
      blocking: () => client('consumer', undefined, server.url),
      reader: redis,
      logger,
    });
    opened.push(events);
    await events.waitUntilReady();

    // Ten thousand events of other jobs, two minutes old, as a busy queue's stream holds them.
    const old = Date.now() - 120_000;
    const other = newJobId('busy');
    for (let i = 0; i < 10_000; i += 500) {
      const batch = redis.pipeline();
      for (let j = i; j < i + 500; j++)
        batch.xadd(key, `${old}-${j}`, 'event', 'progress', 'jobId', other, 'data', String(j));
      await batch.exec();
    }
    const createdAt = Date.now();
    const mine = newJobId('busy');
    await redis.xadd(key, '*', 'event', 'active', 'jobId', mine);
    await redis.xadd(key, '*', 'event', 'progress', 'jobId', mine, 'data', '50');
    const oldest = `${old}-0`;

    let before = await bytesSent(redis);
    const replayed = await events.eventsBetween(mine, oldest, '+', createdAt);
    const fromTheStart = (await bytesSent(redis)) - before;
    expect(replayed?.map((e) => e.type)).toEqual(['active', 'progress']);
    // The two entries of this job and the oldest one, not the 10,000 (about 650 KB) before it.
    expect(fromTheStart).toBeLessThan(20_000);

    // Past the limit of entries in between, the caller gets undefined (it sends a snapshot).
    const fresh = Date.now();
    for (let i = 0; i <= REPLAY_SCAN_LIMIT; i += 500) {
      const batch = redis.pipeline();
      for (let j = i; j < i + 500; j++) batch.xadd(key, '*', 'event', 'progress', 'jobId', other, 'data', String(j));
      await batch.exec();
    }
    before = await bytesSent(redis);
    expect(await events.eventsBetween(mine, oldest, '+', fresh)).toBeUndefined();
    const bounded = (await bytesSent(redis)) - before;
    // About 120 bytes an entry: the limit's worth, where the range holds over 11,000 (1.3 MB).
    expect(bounded).toBeLessThan((REPLAY_SCAN_LIMIT + 1) * 200);
  }, 60_000);
});

/** A TCP proxy to Redis whose open connections can be frozen: bytes stop, and no reset is sent. */
class FreezingProxy {
  readonly #pairs: [Socket, Socket][] = [];
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(target: URL): Promise<FreezingProxy> {
    const server = createServer();
    const proxy = new FreezingProxy(server);
    server.on('connection', (downstream) => {
      const upstream = connect(Number(target.port), target.hostname);
      downstream.pipe(upstream).pipe(downstream);
      for (const socket of [downstream, upstream]) socket.on('error', () => undefined);
      proxy.#pairs.push([downstream, upstream]);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Every connection open now goes silent, as behind a peer that vanished. */
  freeze(): void {
    for (const [downstream, upstream] of this.#pairs.splice(0)) {
      downstream.unpipe(upstream);
      upstream.unpipe(downstream);
      downstream.pause();
      upstream.pause();
      opened.push({
        close: () => {
          for (const socket of [downstream, upstream]) socket.destroy();
          return Promise.resolve();
        },
      });
    }
  }

  async close(): Promise<void> {
    for (const pair of this.#pairs) for (const socket of pair) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

describe('StreamTail', () => {
  it('replaces a connection that stopped answering, and loses nothing', async () => {
    const proxy = await FreezingProxy.start(new URL(inject('redisUrl')));
    opened.push(proxy);
    const key = `t-${randomBytes(4).toString('hex')}:stream`;
    const redis = await admin();
    const received: string[] = [];
    const errors: Error[] = [];
    const tail = new StreamTail({
      keys: [key],
      connection: client('consumer', undefined, proxy.url),
      blockMs: 200,
      onEntry: (_key, [, fields]: StreamEntry) => received.push(fields[1] ?? ''),
      onError: (error) => errors.push(error),
    });
    opened.push(tail);
    await tail.waitUntilStarted();
    await redis.xadd(key, '*', 'n', 'before');
    await waitFor(() => received.length === 1);

    proxy.freeze();
    await redis.xadd(key, '*', 'n', 'during');
    // The watchdog gives a read its BLOCK time plus 5 s before it takes the connection for dead.
    await waitFor(() => received.length === 2, {
      timeoutMs: 15_000,
      description: 'the entry written while the connection was silent',
    });
    expect(received).toEqual(['before', 'during']);
  });
});
