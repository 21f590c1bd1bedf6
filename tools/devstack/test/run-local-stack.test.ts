import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort, startRedisServer } from '@flotilla/local-redis';
import { describe, expect, it, vi } from 'vitest';
import { runLocalStack, type LocalStackOptions } from '../src/index.js';

const fixture = fileURLToPath(new URL('./fixtures/service.mjs', import.meta.url));

async function ping(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return await new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().trim());
    });
    socket.once('error', reject);
  });
}

function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The test runner's own Redis settings must not leak into the stack under test.
function envWithoutRedis(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.includes('REDIS')) env[name] = value;
  }
  return { ...env, ...extra };
}

async function stackOptions(extra: Record<string, string> = {}) {
  const lines: string[] = [];
  const messages: string[] = [];
  const options: LocalStackOptions = {
    webEntry: fixture,
    workerEntry: fixture,
    env: envWithoutRedis({ PORT: String(await freePort()), WORKER_PORT: String(await freePort()), ...extra }),
    readyTimeoutMs: 10_000,
    stopTimeoutMs: 5000,
    output: (line) => lines.push(line),
    log: (message) => messages.push(message),
  };
  return { options, lines, messages };
}

describe('runLocalStack', () => {
  it('starts a private Redis and both services, and stop() ends all three', async () => {
    const { options, lines, messages } = await stackOptions();
    const stack = runLocalStack(options);
    const ready = await stack.ready;

    expect(ready.privateRedis).toBe(true);
    expect(new URL(ready.redisUrl).port).not.toBe('6379');
    expect(await ping(ready.redisUrl)).toBe('+PONG');
    expect(ready.webUrl).toBe(`http://127.0.0.1:${options.env?.['PORT']}`);
    expect(ready.workerHealthUrl).toBe(`http://127.0.0.1:${options.env?.['WORKER_PORT']}/healthz`);
    expect((await fetch(`${ready.webUrl}/readyz`)).status).toBe(200);
    expect((await fetch(ready.workerHealthUrl)).status).toBe(200);
    // Both on loopback only, as the addresses printed say.
    expect(lines).toContain(
      `web | {"msg":"listening","port":${options.env?.['PORT']},"host":"127.0.0.1","redis":"+PONG"}`,
    );
    expect(lines).toContain(
      `worker | {"msg":"listening","port":${options.env?.['WORKER_PORT']},"host":"127.0.0.1","redis":"+PONG"}`,
    );
    expect(lines).toContain('worker | a line on stderr');
    expect(messages).toContainEqual(
      expect.stringMatching(
        /^ready: web http:\/\/127\.0\.0\.1:\d+ \| worker health .*\/healthz \| redis redis:\/\/127\.0\.0\.1:\d+ \(private/,
      ),
    );
    // No dashboard settings of the user's: a password made up for this run, never an open dashboard.
    expect(messages).toContainEqual(
      expect.stringMatching(
        /^dashboard: http:\/\/127\.0\.0\.1:\d+\/dashboard \(user admin, password [\w-]{16}, made up for this run\)$/,
      ),
    );
    expect(isAlive(ready.webPid)).toBe(true);
    expect(isAlive(ready.workerPid)).toBe(true);

    const [first, second] = await Promise.all([stack.stop(), stack.stop()]);
    expect([first, second]).toEqual([0, 0]);
    expect(await stack.done).toBe(0);
    expect(lines).toContain('web | shutting down');
    expect(lines).toContain('worker | shutting down');
    expect(isAlive(ready.webPid)).toBe(false);
    expect(isAlive(ready.workerPid)).toBe(false);
    await expect(ping(ready.redisUrl)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('stops the other service and Redis and ends with 1 when a service exits on its own', async () => {
    const workerPort = String(await freePort());
    const { options, messages } = await stackOptions({
      WORKER_PORT: workerPort,
      FIXTURE_EXIT_PORT: workerPort,
      FIXTURE_EXIT_AFTER_MS: '1500',
    });
    const stack = runLocalStack(options);
    const ready = await stack.ready;
    expect(await stack.done).toBe(1);
    expect(messages).toContain('worker exited (code 3); stopping the rest');
    expect(isAlive(ready.webPid)).toBe(false);
    await expect(ping(ready.redisUrl)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('uses the Redis named by REDIS_URL and keeps its password out of the banner', async () => {
    const redis = await startRedisServer();
    try {
      const redisUrl = `redis://:s3cret@127.0.0.1:${redis.port}`;
      const { options, messages } = await stackOptions({ REDIS_URL: redisUrl });
      const stack = runLocalStack(options);
      const ready = await stack.ready;
      expect(ready.privateRedis).toBe(false);
      expect(ready.redisUrl).toBe(redisUrl);
      expect(messages.join('\n')).toContain(`redis redis://:***@127.0.0.1:${redis.port}`);
      expect(messages.join('\n')).not.toContain('s3cret');
      expect(await stack.stop()).toBe(0);
      expect(await ping(redis.url)).toBe('+PONG');
    } finally {
      await redis.stop();
    }
  });

  it('says in one line how to get redis-server when it is missing', async () => {
    vi.stubEnv('PATH', '/nonexistent');
    try {
      const { options, lines, messages } = await stackOptions();
      const stack = runLocalStack(options);
      expect(await stack.done).toBe(1);
      await expect(stack.ready).rejects.toThrow('ended before it was ready');
      expect(messages).toEqual([expect.stringMatching(/^redis-server was not found on the PATH; install it/)]);
      expect(lines).toEqual([]);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('rejects a PORT that is not a port number before starting anything', async () => {
    const { options, messages } = await stackOptions({ PORT: 'eighty' });
    expect(await runLocalStack(options).done).toBe(1);
    expect(messages).toEqual(['PORT must be a port number from 1 to 65535, got "eighty"']);
  });

  it('names a missing entry point and the build command before starting anything', async () => {
    const { options, messages } = await stackOptions();
    const missing = fileURLToPath(new URL('./fixtures/not-built.js', import.meta.url));
    expect(await runLocalStack({ ...options, workerEntry: missing }).done).toBe(1);
    expect(messages).toEqual([`${missing} does not exist; build first (pnpm run build)`]);
  });

  it('stops cleanly when asked to stop before the services are ready', async () => {
    const { options } = await stackOptions();
    const stack = runLocalStack(options);
    expect(await stack.stop()).toBe(0);
    await expect(stack.ready).rejects.toThrow('ended before it was ready');
  });
});
