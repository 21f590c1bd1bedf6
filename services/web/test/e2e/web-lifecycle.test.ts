import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { startRedisServer } from '@flotilla/local-redis';
import {
  LOAD_TEST_ENV,
  serviceEntry,
  spawnWeb,
  spawnWorker,
  uniqueQueuePrefix,
  waitFor,
  type ServiceHandle,
} from '@flotilla/testkit';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { readSse } from '../support/sse.js';
import { SubmissionLoad } from '../support/submission-load.js';

const started: ServiceHandle[] = [];

function baseEnv(): Record<string, string> {
  return { REDIS_URL: inject('redisUrl'), QUEUE_PREFIX: uniqueQueuePrefix(), LOG_LEVEL: 'warn', ...LOAD_TEST_ENV };
}

async function start(kind: 'web' | 'worker', env: Record<string, string>): Promise<ServiceHandle> {
  const handle = kind === 'web' ? await spawnWeb(env) : await spawnWorker(env);
  started.push(handle);
  return handle;
}

async function submit(
  web: ServiceHandle,
  type: string,
  input: unknown,
): Promise<{ id: string; links: { events: string } }> {
  const response = await fetch(`${web.url}/api/jobs/${type}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  expect(response.status).toBe(202);
  return (await response.json()) as { id: string; links: { events: string } };
}

function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

describe('web lifecycle', () => {
  it('listens on LISTEN_HOST alone when it is set (npm start sets 127.0.0.1), on every interface otherwise', async () => {
    const answers = async (host: string, port: number): Promise<boolean> =>
      await fetch(`http://${host}:${port}/healthz`).then(
        (response) => response.ok,
        () => false,
      );
    const loopbackOnly = await start('web', { ...baseEnv(), LISTEN_HOST: '127.0.0.1' });
    expect(await answers('127.0.0.1', loopbackOnly.port)).toBe(true);
    expect(await answers('[::1]', loopbackOnly.port)).toBe(false);
    const everywhere = await start('web', baseEnv());
    expect(await answers('[::1]', everywhere.port)).toBe(true);
  });

  it('SIGTERM: readiness turns false, in-flight requests finish, then the process exits 0', async () => {
    const env = baseEnv();
    const web = await start('web', { ...env, SHUTDOWN_DRAIN_DELAY: '1' });
    await start('worker', env);
    const { id } = await submit(web, 'sleep', { ms: 1500, steps: 1 });
    const longPoll = fetch(`${web.url}/api/jobs/${id}?wait=10`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    web.signal('SIGTERM');
    const ready = await waitFor(
      async () => {
        const response = await fetch(`${web.url}/readyz`);
        return response.status === 503 ? ((await response.json()) as { draining: boolean }) : undefined;
      },
      { timeoutMs: 900, description: 'readyz 503 while draining' },
    );
    expect(ready?.draining).toBe(true);
    const response = await longPoll;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { state: string }).state).toBe('completed');
    expect(await web.exited).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM under steady load: every request sent before the signal is answered, none fails', async () => {
    const env = baseEnv();
    const web = await start('web', env);
    await start('worker', env);
    // Keep-alive connections from several clients, as a router keeps them.
    const load = new SubmissionLoad(web.url, { concurrency: 8, pauseMs: 2 });
    load.start();
    await load.next((s) => s.status === 202);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const signalledAt = Date.now();
    web.signal('SIGTERM');
    expect(await web.exited).toEqual({ code: 0, signal: null });
    await load.stop();
    const before = load.submissions.filter((s) => s.sentAt < signalledAt);
    expect(before.length).toBeGreaterThan(50);
    expect(before.filter((s) => s.status !== 202)).toEqual([]);
  });

  it('SIGTERM ends open event streams politely so clients can resume elsewhere', async () => {
    const env = baseEnv();
    const web = await start('web', env);
    await start('worker', env);
    const { links } = await submit(web, 'sleep', { ms: 20_000, steps: 20 });
    const stream = readSse(web.url + links.events, { timeoutMs: 15_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    web.signal('SIGTERM');
    const result = await stream;
    expect(result.events[0]?.event).toBe('state');
    expect(await web.exited).toEqual({ code: 0, signal: null });
  });

  it('an event stream on one replica sees a job submitted through another', async () => {
    const env = baseEnv();
    const [a, b] = await Promise.all([start('web', env), start('web', env)]);
    await start('worker', env);
    const { links } = await submit(a, 'sleep', { ms: 300, steps: 2 });
    const stream = await readSse(b.url + links.events);
    expect(stream.events.at(-1)).toMatchObject({ event: 'completed', data: { sleptMs: 300, steps: 2 } });
  });

  it('WEB_CONCURRENCY=2 runs two web processes on one port and stops them all on SIGTERM', async () => {
    const env = baseEnv();
    const web = await start('web', { ...env, WEB_CONCURRENCY: '2' });
    await waitFor(() => childPids(web.pid).length === 2, { timeoutMs: 10_000, description: 'two cluster processes' });
    const statuses = await Promise.all(
      Array.from({ length: 20 }, async () => (await fetch(`${web.url}/readyz`)).status),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
    const children = childPids(web.pid);
    web.signal('SIGTERM');
    expect(await web.exited).toEqual({ code: 0, signal: null });
    expect(children.flatMap((pid) => childPids(pid))).toEqual([]);
    for (const pid of children) expect(() => process.kill(pid, 0)).toThrow();
  });

  it.each([
    [{ PORT: 'eighty' }, 'flotilla web: PORT: expected an integer from 1 to 65535, got "eighty"'],
    [{ REDIS_URL: undefined }, 'flotilla web: REDIS_URL: expected a redis:// or rediss:// URL'],
  ])('a bad variable stops start-up with one line naming it (%j)', (overrides, line) => {
    const env: Record<string, string | undefined> = { ...process.env, ...baseEnv(), ...overrides };
    for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
    const result = spawnSync(process.execPath, [serviceEntry('web')], { env, encoding: 'utf8', timeout: 10_000 });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(line);
  });

  it('a start that fails half-way shuts down what it had opened and exits 1', async () => {
    // A queue Redis that may evict keys, which QUEUE_EVICTION_POLICY_CHECK=refuse will not run
    // on: start-up stops after connecting, before the fleet, the caches or the listener exist.
    const evicting = await startRedisServer({ args: ['--maxmemory-policy', 'allkeys-lru'] });
    try {
      const env = { ...process.env, ...baseEnv(), REDIS_URL: evicting.url, QUEUE_EVICTION_POLICY_CHECK: 'refuse' };
      const child = spawn(process.execPath, [serviceEntry('web')], { env: { ...env, LOG_LEVEL: 'info' } });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      const lines = output
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { msg: string; step?: string });
      expect(code).toBe(1);
      expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['web failed to start', 'shutdown complete']));
      // Every step ran without failing, those of parts never started included.
      expect(lines.filter((l) => l.msg === 'shutdown step failed')).toEqual([]);
    } finally {
      await evicting.stop();
    }
  });
});
