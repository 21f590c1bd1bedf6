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
  // Pausing queues on top of the default actions (retry, promote, remove).
  [web, worker] = await Promise.all([
    spawnWeb({ ...env, ADMIN_BASIC_AUTH: ADMIN, DASHBOARD_ACTIONS: 'retry,promote,remove,pause' }),
    spawnWorker(env),
  ]);
});

afterAll(async () => {
  await Promise.all([web?.stop(), worker?.stop()]);
});

interface Snapshot {
  windowMinutes: number;
  members: Record<string, { capabilities: Record<string, string> }[]>;
  queues: { name: string; throughput: { completed: number[]; failed: number[] } }[];
  caches: { name: string; hitRatio: number | null }[];
}

function embeddedSnapshot(html: string): Snapshot {
  return JSON.parse(
    /<script type="application\/json" id="initial">(.*?)<\/script>/s.exec(html)?.[1] ?? '{}',
  ) as Snapshot;
}

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
    expect(
      (await api(web.url, 'GET', '/dashboard/jobs/api/queues', { headers: { authorization: 'Basic b3BzOndyb25n' } }))
        .status,
    ).toBe(401);
  });

  it('serves the fleet overview with the live members, queues, throughput and caches embedded', async () => {
    const done = await api(web.url, 'POST', '/api/jobs/fib', { json: { n: 30 } });
    const { id } = done.body as { id: string };
    await waitFor(async () => (await jobState(id)).state === 'completed', {
      timeoutMs: 10_000,
      description: 'the fib job to complete',
    });
    await api(web.url, 'GET', '/articles/1');
    await api(web.url, 'GET', '/articles/1');

    // The worker writes its counts of finished jobs a moment after the job completes.
    const cpuDone = (snapshot: Snapshot): number =>
      snapshot.queues
        .find((q) => q.name === 'cpu')
        ?.throughput.completed.slice(-2)
        .reduce((a, b) => a + b, 0) ?? 0;
    const response = (await waitFor(
      async () => {
        const page = await api(web.url, 'GET', '/dashboard', { headers: auth });
        return page.status !== 200 || cpuDone(embeddedSnapshot(page.text)) >= 1 ? page : undefined;
      },
      { timeoutMs: 10_000, description: 'the fib job counted on the dashboard' },
    )) as Awaited<ReturnType<typeof api>>;
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const snapshot = embeddedSnapshot(response.text);
    expect(snapshot.members['worker']?.map((m) => m.capabilities['pid'])).toEqual([String(worker.pid)]);
    expect(snapshot.queues.map((q) => q.name)).toEqual(['default', 'cpu', 'background', 'outbound']);
    const cpu = snapshot.queues.find((q) => q.name === 'cpu');
    expect(cpu?.throughput.completed).toHaveLength(snapshot.windowMinutes);
    // The job finished this minute or, across a minute boundary, the one before.
    expect(cpuDone(snapshot)).toBeGreaterThanOrEqual(1);
    expect(snapshot.caches.map((c) => c.name)).toContain('pages');
  });

  it('finds a job by id: a redirect to its page in bull-board, or a notice when there is none', async () => {
    const submitted = await api(web.url, 'POST', '/api/jobs/sleep', { json: { ms: 10 } });
    const { id } = submitted.body as { id: string };
    const found = await api(web.url, 'GET', `/dashboard/find?id=${encodeURIComponent(` ${id} `)}`, {
      headers: auth,
      redirect: 'manual',
    });
    expect(found.status).toBe(303);
    expect(found.headers.get('location')).toBe(`/dashboard/jobs/queue/default/${id}`);
    expect((await api(web.url, 'GET', found.headers.get('location') ?? '', { headers: auth })).status).toBe(200);

    const missing = await api(web.url, 'GET', '/dashboard/find?id=%3Cscript%3Ex', { headers: auth });
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('No job with the id “&lt;script&gt;x”');
  });

  it('streams a fresh snapshot every few seconds', async () => {
    let seen = 0;
    const stream = await readSse(`${web.url}/dashboard/events`, {
      headers: auth,
      stopWhen: () => ++seen >= 2,
      timeoutMs: 10_000,
    });
    expect(stream.status).toBe(200);
    const [first, second] = stream.events.map((e) => e.data as { at: string });
    expect(stream.events.every((e) => e.event === 'snapshot')).toBe(true);
    expect(Date.parse(second?.at ?? '')).toBeGreaterThan(Date.parse(first?.at ?? ''));
  });

  it('lets streams opened together share one read of Redis for their snapshots', async () => {
    const streams = await Promise.all(
      Array.from({ length: 4 }, () => {
        let seen = 0;
        return readSse(`${web.url}/dashboard/events`, {
          headers: auth,
          stopWhen: () => ++seen >= 1,
          timeoutMs: 10_000,
        });
      }),
    );
    const firstAt = streams.map((stream) => (stream.events[0]?.data as { at: string } | undefined)?.at);
    expect(firstAt.every((at) => at !== undefined)).toBe(true);
    // Opened within a second of each other, they got the same snapshot, taken once.
    expect(new Set(firstAt).size).toBe(1);
  });

  it('retries a failed job through bull-board, and refuses the same action from another site', async () => {
    const submitted = await api(web.url, 'POST', '/api/jobs/flaky', { json: { failTimes: 4 } });
    const { id } = submitted.body as { id: string };
    await waitFor(async () => (await jobState(id)).state === 'failed', {
      timeoutMs: 20_000,
      description: 'the flaky job to fail its 4 attempts',
    });
    const retry = `/dashboard/jobs/api/queues/default/${encodeURIComponent(id)}/retry`;

    const forged = await api(web.url, 'PUT', retry, {
      headers: { ...auth, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(forged.status).toBe(403);
    expect((await jobState(id)).state).toBe('failed');

    const retried = await api(web.url, 'PUT', retry, {
      headers: { ...auth, origin: web.url, 'sec-fetch-site': 'same-origin' },
    });
    expect(retried.status, retried.text).toBeLessThan(300);
    // The fifth attempt is past failTimes, so it succeeds.
    await waitFor(async () => (await jobState(id)).state === 'completed', {
      timeoutMs: 20_000,
      description: 'the retried job to complete',
    });
  });
});

describe('bull-board actions under /dashboard/jobs', () => {
  const board = (path: string): Promise<Awaited<ReturnType<typeof api>>> =>
    api(web.url, 'PUT', `/dashboard/jobs/api/queues/${path}`, {
      headers: { ...auth, origin: web.url, 'sec-fetch-site': 'same-origin' },
    });

  it('promotes a delayed job, removes another, and pauses and resumes a queue', async () => {
    const delayed = (
      (await api(web.url, 'POST', '/api/jobs/sleep?delay=600000', { json: { ms: 10 } })).body as { id: string }
    ).id;
    const doomed = (
      (await api(web.url, 'POST', '/api/jobs/sleep?delay=600000', { json: { ms: 10 } })).body as { id: string }
    ).id;
    expect((await jobState(delayed)).state).toBe('delayed');

    expect((await board(`default/${delayed}/promote`)).status).toBeLessThan(300);
    await waitFor(async () => (await jobState(delayed)).state === 'completed', {
      timeoutMs: 10_000,
      description: 'the promoted job to run',
    });
    expect((await board(`default/${doomed}/clean`)).status).toBeLessThan(300);
    expect((await api(web.url, 'GET', `/api/jobs/${doomed}`)).status).toBe(404);

    expect((await board('cpu/pause')).status).toBeLessThan(300);
    const held = ((await api(web.url, 'POST', '/api/jobs/fib', { json: { n: 5 } })).body as { id: string }).id;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await jobState(held)).state).toBe('waiting');
    expect((await board('cpu/resume')).status).toBeLessThan(300);
    await waitFor(async () => (await jobState(held)).state === 'completed', {
      timeoutMs: 10_000,
      description: 'the job to run once the queue is resumed',
    });
  });
});

describe('bull-board actions turned off', () => {
  it('refuses by default what DASHBOARD_ACTIONS does not list (obliterate, empty, pause, add, edit) and changes nothing', async () => {
    const env = isolatedServiceEnv(inject('redisUrl'));
    const plain = await spawnWeb({ ...env, ADMIN_BASIC_AUTH: ADMIN });
    try {
      const headers = { ...auth, origin: plain.url, 'sec-fetch-site': 'same-origin' };
      const kept = (
        (await api(plain.url, 'POST', '/api/jobs/sleep?delay=600000', { json: { ms: 10 } })).body as { id: string }
      ).id;
      for (const [method, path] of [
        ['PUT', 'default/obliterate'],
        ['PUT', 'default/empty'],
        ['PUT', 'default/pause'],
        ['PUT', 'pause'],
        ['POST', 'default/add'],
        ['PUT', `default/${kept}/update-data`],
        ['PUT', 'default/some-future-action'],
      ] as const) {
        const response = await api(plain.url, method, `/dashboard/jobs/api/queues/${path}`, { headers, json: {} });
        expect(response.status, path).toBe(403);
        expect((response.body as { type: string }).type, path).toBe('urn:flotilla:problem:action-disabled');
      }
      expect((await api(plain.url, 'GET', `/api/jobs/${kept}`)).body).toMatchObject({ state: 'delayed' });
      // The defaults still work.
      expect(
        (await api(plain.url, 'PUT', `/dashboard/jobs/api/queues/default/${kept}/clean`, { headers })).status,
      ).toBeLessThan(300);
      expect((await api(plain.url, 'GET', `/api/jobs/${kept}`)).status).toBe(404);
    } finally {
      await plain.stop();
    }
  });
});

describe('/api/admin', () => {
  it('needs the admin credentials, and is absent while the dashboard is off', async () => {
    expect((await api(web.url, 'GET', '/api/admin/queues/default/jobs')).status).toBe(401);
    const plain = await spawnWeb(isolatedServiceEnv(inject('redisUrl')));
    try {
      expect((await api(plain.url, 'GET', '/api/admin/queues/default/jobs')).status).toBe(404);
    } finally {
      await plain.stop();
    }
  });

  it('lists jobs by state and retries failed ones, refusing what it cannot do with problem JSON', async () => {
    const failed = await Promise.all(
      [0, 1].map(
        async () =>
          ((await api(web.url, 'POST', '/api/jobs/flaky', { json: { failTimes: 4 } })).body as { id: string }).id,
      ),
    );
    for (const id of failed)
      await waitFor(async () => (await jobState(id)).state === 'failed', {
        timeoutMs: 20_000,
        description: 'the flaky jobs to fail',
      });

    const list = await api(web.url, 'GET', '/api/admin/queues/default/jobs?state=failed&limit=500', { headers: auth });
    expect(list.status).toBe(200);
    const page = list.body as { state: string; total: number; jobs: { id: string; state: string }[] };
    expect(page.jobs.map((j) => j.id)).toEqual(expect.arrayContaining(failed));
    expect(page.jobs.every((j) => j.state === 'failed')).toBe(true);
    expect(page.total).toBeGreaterThanOrEqual(2);

    const badState = await api(web.url, 'GET', '/api/admin/queues/default/jobs?state=lost', { headers: auth });
    expect(badState.status).toBe(422);
    expect(badState.headers.get('content-type')).toContain('application/problem+json');
    expect((badState.body as { errors: { pointer: string }[] }).errors[0]?.pointer).toBe('state');
    expect((await api(web.url, 'GET', '/api/admin/queues/default/jobs?limit=0', { headers: auth })).status).toBe(422);
    expect((await api(web.url, 'GET', '/api/admin/queues/nope/jobs', { headers: auth })).status).toBe(404);

    const [first, second] = failed as [string, string];
    const forged = await api(web.url, 'POST', `/api/admin/jobs/${first}/retry`, {
      headers: { ...auth, 'sec-fetch-site': 'cross-site' },
    });
    expect(forged.status).toBe(403);
    // Without Sec-Fetch-Site the Origin decides, scheme and port included: the same host served
    // over https, or on another port, is another site.
    const { host, port } = new URL(web.url);
    for (const origin of [`https://${host}`, `http://${host.split(':')[0]}:${Number(port) + 1}`, 'null']) {
      expect(
        (await api(web.url, 'POST', `/api/admin/jobs/${first}/retry`, { headers: { ...auth, origin } })).status,
        origin,
      ).toBe(403);
    }
    expect((await jobState(first)).state).toBe('failed');

    // The dashboard's own page: the same scheme, host and port.
    const retried = await api(web.url, 'POST', `/api/admin/jobs/${first}/retry`, {
      headers: { ...auth, origin: new URL(web.url).origin },
    });
    expect(retried.status, retried.text).toBe(200);
    await waitFor(async () => (await jobState(first)).state === 'completed', {
      timeoutMs: 20_000,
      description: 'the retried job to complete',
    });
    const twice = await api(web.url, 'POST', `/api/admin/jobs/${first}/retry`, { headers: auth });
    expect(twice.status).toBe(409);
    expect((twice.body as { type: string }).type).toBe('urn:flotilla:problem:job-not-failed');
    expect(
      (await api(web.url, 'POST', '/api/admin/jobs/default.AAAAAAAAAAAAAAAAAAAAAA/retry', { headers: auth })).status,
    ).toBe(404);
    expect((await api(web.url, 'POST', '/api/admin/jobs/..%2F..%2Fetc/retry', { headers: auth })).status).toBe(404);

    const all = await api(web.url, 'POST', '/api/admin/queues/default/retry-failed', { headers: auth });
    expect(all.status).toBe(200);
    expect((all.body as { retried: number }).retried).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await jobState(second)).state === 'completed', {
      timeoutMs: 20_000,
      description: 'the other job to complete',
    });
    expect((await api(web.url, 'POST', '/api/admin/queues/nope/retry-failed', { headers: auth })).status).toBe(404);
  });
});
