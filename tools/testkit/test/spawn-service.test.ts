import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { httpStatus, spawnService, type ServiceHandle } from '../src/index.js';

const fixture = fileURLToPath(new URL('./fixtures/service.mjs', import.meta.url));
const started: ServiceHandle[] = [];

async function start(env: Record<string, string | undefined> = {}, readyTimeoutMs = 10_000): Promise<ServiceHandle> {
  const service = await spawnService({ entry: fixture, env, readyTimeoutMs });
  started.push(service);
  return service;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((service) => service.kill()));
});

describe('spawnService', () => {
  it('resolves only once the ready path answers 200, and captures stdout and stderr', async () => {
    const before = Date.now();
    const service = await start({ FIXTURE_READY_AFTER_MS: '600' });
    expect(Date.now() - before).toBeGreaterThanOrEqual(600);
    expect(service.url).toBe(`http://127.0.0.1:${service.port}`);
    expect(await httpStatus(`${service.url}/readyz`)).toBe(200);
    expect(service.logs()).toContain('"msg":"fixture listening"');
    expect(service.logs()).toContain('fixture stderr line');
  });

  it('stop() sends SIGTERM and reports a clean exit', async () => {
    const service = await start();
    expect(await service.stop(5000)).toEqual({ code: 0, signal: null });
    expect(service.logs()).toContain('fixture shutting down');
    expect(isAlive(service.pid)).toBe(false);
  });

  it('stop() falls back to SIGKILL when SIGTERM is ignored', async () => {
    const service = await start({ FIXTURE_IGNORE_SIGTERM: '1' });
    expect(await service.stop(300)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(service.logs()).toContain('fixture ignoring SIGTERM');
  });

  it("kill() defaults to SIGKILL and resolves with the process's end", async () => {
    const service = await start();
    const exit = await service.kill();
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await service.exited).toEqual(exit);
    expect(isAlive(service.pid)).toBe(false);
  });

  it('signal() does not wait; exited settles when the process is gone', async () => {
    const service = await start();
    service.signal('SIGTERM');
    expect(await service.exited).toEqual({ code: 0, signal: null });
  });

  it('drops Redis URLs inherited from the parent but keeps the ones it is given', async () => {
    vi.stubEnv('REDIS_URL', 'redis://127.0.0.1:6379');
    vi.stubEnv('REDIS_TLS_URL', 'rediss://127.0.0.1:6380');
    vi.stubEnv('QUEUE_REDIS_URL', 'redis://127.0.0.1:6379/1');
    vi.stubEnv('CACHE_REDIS_URL', 'redis://127.0.0.1:6379/2');
    vi.stubEnv('FIXTURE_GREETING', 'inherited');
    try {
      const scrubbed = await start();
      expect(await (await fetch(`${scrubbed.url}/env`)).json()).toEqual({
        REDIS_URL: null,
        REDIS_TLS_URL: null,
        QUEUE_REDIS_URL: null,
        CACHE_REDIS_URL: null,
        FIXTURE_GREETING: 'inherited',
      });
      const explicit = await start({ REDIS_URL: 'redis://127.0.0.1:1/0', FIXTURE_GREETING: undefined });
      expect(await (await fetch(`${explicit.url}/env`)).json()).toMatchObject({
        REDIS_URL: 'redis://127.0.0.1:1/0',
        FIXTURE_GREETING: null,
      });
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('on a readiness timeout kills the process and quotes the tail of its output', async () => {
    const attempt = spawnService({ entry: fixture, env: { FIXTURE_NEVER_READY: '1' }, readyTimeoutMs: 500 });
    await expect(attempt).rejects.toThrow(/was not ready within 500 ms[\s\S]*last status 503[\s\S]*fixture listening/);
  });

  it('fails fast, with its output, when the process exits before it is ready', async () => {
    const missing = fileURLToPath(new URL('./fixtures/does-not-exist.mjs', import.meta.url));
    const attempt = spawnService({ entry: missing, readyTimeoutMs: 10_000 });
    await expect(attempt).rejects.toThrow(/exited before .*readyz answered 200[\s\S]*Cannot find module/);
  });

  it('starts Node with the options it is given, before the entry', async () => {
    const service = await spawnService({
      entry: fixture,
      nodeArgs: ['--no-memory-reducer', '--stack-trace-limit=7'],
      readyTimeoutMs: 10_000,
    });
    started.push(service);
    expect(await (await fetch(`${service.url}/exec-argv`)).json()).toEqual([
      '--no-memory-reducer',
      '--stack-trace-limit=7',
    ]);
    expect(await (await fetch(`${(await start()).url}/exec-argv`)).json()).toEqual([]);
  });

  it('uses the port it is given', async () => {
    const { freePort } = await import('@flotilla/local-redis');
    const port = await freePort();
    const service = await spawnService({ entry: fixture, port, readyTimeoutMs: 10_000 });
    started.push(service);
    expect(service.port).toBe(port);
  });
});
