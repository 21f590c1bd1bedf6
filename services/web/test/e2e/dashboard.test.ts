import { isolatedServiceEnv, spawnWeb, spawnWorker, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api } from '../support/api.js';
import { readSse } from '../support/sse.js';

// The dashboard of a real web process, with a real worker behind it.
const ADMIN = 'ops:correct-horse-battery';
const auth = { authorization: `Basic ${Buffer.from(ADMIN).toString('base64')}` };
let web: ServiceHandle;
let worker: ServiceHandle;

beforeAll(async () => {
  const env = isolatedServiceEnv(inject('redisUrl'));
  [web, worker] = await Promise.all([spawnWeb({ ...env, ADMIN_BASIC_AUTH: ADMIN }), spawnWorker(env)]);
});

afterAll(async () => {
  await Promise.all([web?.stop(), worker?.stop()]);
});

async function jobState(id: string): Promise<{ state: string; attemptsMade: number }> {
  return (await api(web.url, 'GET', `/api/jobs/${id}`)).body as { state: string; attemptsMade: number };
}

describe('/dashboard', () => {
  it('is not there at all unless credentials (or the local flag) are configured', async () => {
    const plain = await spawnWeb(isolatedServiceEnv(inject('redisUrl')));
    try {
      expect((await api(plain.url, 'GET', '/dashboard')).status).toBe(404);
      expect((await api(plain.url, 'GET', '/dashboard/jobs/api/queues')).status).toBe(404);
    } finally {
      await plain.stop();
    }
  });

  it('asks for the admin credentials', async () => {
    const response = await api(web.url, 'GET', '/dashboard');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('Basic');
    expect((await api(web.url, 'GET', '/dashboard/jobs/api/queues', { headers: { authorization: 'Basic b3BzOndyb25n' } })).status).toBe(401);
  });

  it('serves the fleet overview with the live members and queues embedded', async () => {
    const response = await api(web.url, 'GET', '/dashboard', { headers: auth });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const initial = /<script type="application\/json" id="initial">(.*?)<\/script>/s.exec(response.text)?.[1] ?? '{}';
    const snapshot = JSON.parse(initial) as { members: Record<string, { capabilities: Record<string, string> }[]>; queues: { name: string }[] };
    expect(snapshot.members['worker']?.map((m) => m.capabilities['pid'])).toEqual([String(worker.pid)]);
    expect(snapshot.queues.map((q) => q.name)).toEqual(['default', 'cpu', 'background', 'outbound']);
  });

  it('streams a fresh snapshot every few seconds', async () => {
    let seen = 0;
    const stream = await readSse(`${web.url}/dashboard/events`, { headers: auth, stopWhen: () => ++seen >= 2, timeoutMs: 10_000 });
    expect(stream.status).toBe(200);
    const [first, second] = stream.events.map((e) => e.data as { at: string });
    expect(stream.events.every((e) => e.event === 'snapshot')).toBe(true);
    expect(Date.parse(second?.at ?? '')).toBeGreaterThan(Date.parse(first?.at ?? ''));
  });

  it('retries a failed job through bull-board, and refuses the same action from another site', async () => {
    const submitted = await api(web.url, 'POST', '/api/jobs/flaky', { json: { failTimes: 4 } });
    const { id } = submitted.body as { id: string };
    await waitFor(async () => (await jobState(id)).state === 'failed', { timeoutMs: 20_000, description: 'the flaky job to fail its 4 attempts' });
    const retry = `/dashboard/jobs/api/queues/default/${encodeURIComponent(id)}/retry`;

    const forged = await api(web.url, 'PUT', retry, { headers: { ...auth, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
    expect(forged.status).toBe(403);
    expect((await jobState(id)).state).toBe('failed');

    const retried = await api(web.url, 'PUT', retry, { headers: { ...auth, origin: web.url, 'sec-fetch-site': 'same-origin' } });
    expect(retried.status, retried.text).toBeLessThan(300);
    // The fifth attempt is past failTimes, so it succeeds.
    await waitFor(async () => (await jobState(id)).state === 'completed', { timeoutMs: 20_000, description: 'the retried job to complete' });
  });
});
