import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, inject, vi } from 'vitest';
import { LuaScript, runScripts, waitForReady, type RedisClient } from '../src/index.js';
import { clientPool } from './client-pool.js';

const pool = clientPool();
afterEach(() => pool.closeAll());

// Sets its key and says which it was: the reply and the side effect show that each call ran.
const setAndEcho = new LuaScript(`redis.call('SET', KEYS[1], ARGV[1]) return ARGV[1]`);
const failOn = new LuaScript(`if ARGV[1] == 'fail' then return redis.error_reply('boom') end return 1`);

async function ready(): Promise<RedisClient> {
  const client = pool.open({ url: inject('redisUrl'), role: 'producer' });
  await waitForReady(client, 5000);
  return client;
}

describe('runScripts on one Redis', () => {
  const prefix = `run-scripts-${randomBytes(4).toString('hex')}`;
  // Different hash tags: different slots, as a cache's key groups are.
  const keys = Array.from({ length: 5 }, (_, i) => `{${prefix}-${i}}:k`);

  it('sends calls over several slots in ONE pipeline and answers in order', async () => {
    const client = await ready();
    await setAndEcho.preload(client);
    const pipelines = vi.spyOn(client, 'pipeline');
    const replies = await runScripts(
      client,
      keys.map((key, i) => ({ script: setAndEcho, keys: [key], args: [`v${i}`] })),
    );
    expect(pipelines).toHaveBeenCalledTimes(1);
    expect(replies.map(String)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect(await client.mget(...keys)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
  });

  it('runs a single call as it is, without a pipeline', async () => {
    const client = await ready();
    const pipelines = vi.spyOn(client, 'pipeline');
    expect(String((await runScripts(client, [{ script: setAndEcho, keys: [keys[0]!], args: ['one'] }]))[0])).toBe(
      'one',
    );
    expect(pipelines).not.toHaveBeenCalled();
  });

  it('runs again alone what found its script missing (a restart or SCRIPT FLUSH)', async () => {
    const client = await ready();
    // A script this server has never seen, rather than a SCRIPT FLUSH under the other tests.
    const unseen = new LuaScript(`-- ${randomBytes(8).toString('hex')}\nreturn ARGV[1]`);
    const replies = await runScripts(
      client,
      keys.slice(0, 3).map((key) => ({ script: unseen, keys: [key], args: ['loaded by EVAL'] })),
    );
    expect(replies.map(String)).toEqual(['loaded by EVAL', 'loaded by EVAL', 'loaded by EVAL']);
  });

  it('throws the first error once every call has answered', async () => {
    const client = await ready();
    await expect(
      runScripts(client, [
        { script: failOn, keys: [keys[0]!], args: ['ok'] },
        { script: failOn, keys: [keys[1]!], args: ['fail'] },
        { script: setAndEcho, keys: [keys[2]!], args: ['ran anyway'] },
      ]),
    ).rejects.toThrow(/boom/);
    expect(await client.get(keys[2]!)).toBe('ran anyway');
  });
});
