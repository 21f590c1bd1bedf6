import { execFileSync } from 'node:child_process';
import { findRedisServer, startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { LOAD_TEST_ENV, isolatedServiceEnv, spawnWeb, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { jobStates } from '../support/job-states.js';
import { SubmissionLoad } from '../support/submission-load.js';

// DURABLE_SUBMISSIONS: a 202 only once the job is in the append-only file on disk. Pass
// criteria: with it on, SIGKILL of Redis right after a 202 loses no acknowledged job, and the
// web refuses to start on a Redis that cannot make that promise; with it off, the jobs lost to
// a SIGKILL under appendfsync everysec are counted and printed (the loss window), not assumed.
const version = /v=(\d+)\.(\d+)/.exec(
  execFileSync(findRedisServer() ?? 'redis-server', ['--version'], { encoding: 'utf8' }),
);
const HAS_WAITAOF = Number(version?.[1]) > 7 || (Number(version?.[1]) === 7 && Number(version?.[2]) >= 2);
const KILLS = 3;

const servers: RedisServer[] = [];
const services: ServiceHandle[] = [];

afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function redisWith(args: string[]): Promise<RedisServer> {
  const server = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction', ...args] });
  servers.push(server);
  return server;
}

async function web(redis: RedisServer, env: Record<string, string> = {}): Promise<ServiceHandle> {
  const handle = await spawnWeb({ ...isolatedServiceEnv(redis.url), ...LOAD_TEST_ENV, ...env });
  services.push(handle);
  return handle;
}

interface KillFigures {
  readonly accepted: number;
  readonly lost: number;
  /** From the earliest lost job's 202 to the kill. */
  readonly windowMs: number;
}

/** Submits steadily, SIGKILLs Redis the moment a 202 arrives, restarts it, and counts the acknowledged jobs that are gone. */
async function killAfterAccept(redis: RedisServer, service: ServiceHandle): Promise<KillFigures> {
  const load = new SubmissionLoad(service.url, { concurrency: 8, pauseMs: 0 });
  load.start();
  let killedAt: number;
  try {
    await load.next((s) => s.status === 202);
    // Long enough for everysec to have flushed earlier jobs, so only the last second is at risk.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await load.next((s) => s.status === 202);
    killedAt = Date.now();
    await redis.kill('SIGKILL');
    await load.next((s) => s.status === 503, killedAt);
  } finally {
    await load.stop();
  }
  await redis.restart();
  await waitFor(async () => (await fetch(`${service.url}/readyz`)).status === 200, {
    timeoutMs: 15_000,
    description: 'web ready again',
  });
  const accepted = load.submissions.filter((s) => s.status === 202);
  const states = await jobStates(service.url, load.acceptedIds());
  const lost = accepted.filter((s) => s.id !== undefined && states.get(s.id) === 'missing');
  return {
    accepted: accepted.length,
    lost: lost.length,
    windowMs: lost.length > 0 ? killedAt - Math.min(...lost.map((s) => s.answeredAt)) : 0,
  };
}

describe('DURABLE_SUBMISSIONS', () => {
  it(`on: ${KILLS} SIGKILLs of Redis right after a 202 lose no acknowledged job`, async () => {
    // Below 7.2 the promise rests on appendfsync always; from 7.2 on WAITAOF keeps it with everysec too.
    const redis = await redisWith(['--appendonly', 'yes', '--appendfsync', HAS_WAITAOF ? 'everysec' : 'always']);
    const service = await web(redis, { DURABLE_SUBMISSIONS: 'true' });
    for (let kill = 1; kill <= KILLS; kill++) {
      const figures = await killAfterAccept(redis, service);
      console.log(
        `[redis-faults] durable submissions, SIGKILL ${kill}: ${figures.accepted} accepted, ${figures.lost} lost`,
      );
      expect(figures.accepted).toBeGreaterThan(0);
      expect(figures.lost).toBe(0);
    }
  }, 120_000);

  it('off, appendfsync everysec: the jobs lost to a SIGKILL are counted (the loss window)', async () => {
    const redis = await redisWith(['--appendonly', 'yes', '--appendfsync', 'everysec']);
    const service = await web(redis);
    const figures = await killAfterAccept(redis, service);
    console.log(
      `[redis-faults] default submissions (appendfsync everysec), SIGKILL: ${figures.accepted} accepted, ${figures.lost} lost, acknowledged within ${figures.windowMs} ms before the kill`,
    );
    // everysec writes the file before it answers and fsyncs once a second: a SIGKILL (the host
    // survives) may lose at most the last second or so; a power loss is what everysec risks.
    expect(figures.windowMs).toBeLessThan(2000);
  }, 60_000);

  it('refuses to start on a Redis without an append-only file', async () => {
    const redis = await redisWith([]);
    await expect(web(redis, { DURABLE_SUBMISSIONS: 'true' })).rejects.toThrow(/appendonly yes/);
  });

  it.skipIf(HAS_WAITAOF)('refuses to start below Redis 7.2 unless appendfsync is always', async () => {
    const redis = await redisWith(['--appendonly', 'yes', '--appendfsync', 'everysec']);
    await expect(web(redis, { DURABLE_SUBMISSIONS: 'true' })).rejects.toThrow(
      /no WAITAOF \(7\.2\+\) and its appendfsync is everysec; set appendfsync always/,
    );
  });

  it.skipIf(!HAS_WAITAOF)('uses WAITAOF from Redis 7.2 on, whatever appendfsync says', async () => {
    const redis = await redisWith(['--appendonly', 'yes', '--appendfsync', 'everysec']);
    const service = await web(redis, { DURABLE_SUBMISSIONS: 'true', LOG_LEVEL: 'info' });
    expect(service.logs()).toMatch(/"mode":"waitaof".*durable submissions/);
  });
});
