import { parseJobId, QueueShards } from '@flotilla/queue';
import {
  LOAD_TEST_ENV,
  connectionsHeld,
  spawnWeb,
  spawnWorker,
  uniqueQueuePrefix,
  type ServiceHandle,
} from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api } from '../support/api.js';
import { RedisCensus } from '../support/redis-census.js';
import { readSse } from '../support/sse.js';

// QUEUE_SHARDS=3 with the real web and worker on one Redis: jobs submitted over HTTP land on
// every shard, the worker drains them all, and everything that reaches a job by its id (status,
// long poll, events, cancel, idempotent retries) finds it.
const SHARDS = 3;
const ADMIN = 'ops:correct-horse-battery';
const QUEUE_PREFIX = uniqueQueuePrefix();
let web: ServiceHandle;
let worker: ServiceHandle;

beforeAll(async () => {
  const env = {
    REDIS_URL: inject('redisUrl'),
    QUEUE_PREFIX,
    QUEUE_SHARDS: String(SHARDS),
    LOG_LEVEL: 'warn',
    ...LOAD_TEST_ENV,
  };
  [web, worker] = await Promise.all([spawnWeb({ ...env, ADMIN_BASIC_AUTH: ADMIN }), spawnWorker(env)]);
});

afterAll(async () => {
  await Promise.all([web?.stop(), worker?.stop()]);
});

interface Accepted {
  readonly id: string;
  readonly links: { readonly self: string; readonly events: string };
}

async function submit(type: string, input: unknown, headers: Record<string, string> = {}): Promise<Accepted> {
  const response = await api(web.url, 'POST', `/api/jobs/${type}`, { json: input, headers });
  expect(response.status, response.text).toBe(202);
  return response.body as Accepted;
}

describe('queues spread over three shards (QUEUE_SHARDS=3)', () => {
  it('puts submissions on every shard, and the worker completes them all', async () => {
    const accepted = await Promise.all(Array.from({ length: 30 }, () => submit('sleep', { ms: 10, steps: 1 })));
    expect(new Set(accepted.map((a) => parseJobId(a.id)?.shardTag)).size).toBe(SHARDS);
    for (const { id } of accepted) {
      const done = await api(web.url, 'GET', `/api/jobs/${id}?wait=20`);
      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({ id, state: 'completed', result: { sleptMs: 10, steps: 1 } });
    }
    const queues = await api(web.url, 'GET', '/api/queues');
    const row = (
      queues.body as { queues: { name: string; counts: { completed: number }; shards?: unknown[] }[] }
    ).queues.find((q) => q.name === 'default');
    expect(row?.counts.completed).toBe(30);
    expect(row?.shards).toHaveLength(SHARDS);
  });

  it('describes the shards /api/queues lists in its OpenAPI document', async () => {
    const { body } = await api(web.url, 'GET', '/api/queues');
    const [row] = (body as { queues: Record<string, unknown>[] }).queues;
    const shards = (row?.['shards'] ?? []) as Record<string, unknown>[];
    expect(shards).toHaveLength(SHARDS);
    type Schemas = Record<string, { properties: Record<string, unknown> }>;
    const document = (await api(web.url, 'GET', '/openapi.json')).body as { components: { schemas: Schemas } };
    const documented = (id: string): string[] => Object.keys(document.components.schemas[id]?.properties ?? {}).sort();
    expect(Object.keys(row ?? {}).sort()).toEqual(documented('QueueSnapshot'));
    for (const shard of shards) expect(Object.keys(shard).sort()).toEqual(documented('ShardSnapshot'));
  });

  it('runs a flow with its children on its own shard', async () => {
    const flows = await Promise.all(Array.from({ length: SHARDS }, () => submit('digest', { ns: [10, 20] })));
    for (const { id } of flows) {
      const done = await api(web.url, 'GET', `/api/jobs/${id}?wait=20`);
      expect(done.body).toMatchObject({ state: 'completed', result: { count: 2 } });
    }
  });

  it('streams the events of a job on any shard', async () => {
    const jobs = await Promise.all(Array.from({ length: 6 }, () => submit('sleep', { ms: 300, steps: 3 })));
    const results = await Promise.all(
      jobs.map((job) => readSse(web.url + job.links.events, { stopWhen: (e) => e.event === 'completed' })),
    );
    for (const result of results) {
      expect(result.events.map((e) => e.event)).toContain('progress');
      expect(result.events.at(-1)?.event).toBe('completed');
    }
  });

  it('gives a retried request with the same Idempotency-Key the same job, and cancels on any shard', async () => {
    const keys = Array.from({ length: 6 }, (_, i) => `order-${i}`);
    const first = await Promise.all(
      keys.map((key) => submit('sleep', { ms: 10, steps: 1 }, { 'idempotency-key': key })),
    );
    const again = await Promise.all(
      keys.map((key) => submit('sleep', { ms: 10, steps: 1 }, { 'idempotency-key': key })),
    );
    expect(again.map((a) => a.id)).toEqual(first.map((f) => f.id));
    const delayed = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const response = await api(web.url, 'POST', '/api/jobs/sleep?delay=60000', { json: { ms: 1, steps: 1 } });
        return (response.body as Accepted).id;
      }),
    );
    expect(new Set(delayed.map((id) => parseJobId(id)?.shardTag)).size).toBeGreaterThan(1);
    for (const id of delayed) expect((await api(web.url, 'DELETE', `/api/jobs/${id}`)).status).toBe(200);
  });

  it('holds one more job-event connection per shard in the web, and a blocking fetch per queue and shard in the worker', async () => {
    const census = new RedisCensus(inject('redisUrl'));
    try {
      const held = await census.byProcess();
      expect(held.get(web.pid)?.length).toBe(connectionsHeld({ service: 'web', queueShards: SHARDS }).queue);
      expect(held.get(worker.pid)?.length).toBe(
        connectionsHeld({ service: 'worker', consumedQueues: 4, queueShards: SHARDS }).queue,
      );
    } finally {
      await census.close();
    }
  });

  it("finds a job by id on the dashboard: a redirect to its shard's page in bull-board", async () => {
    const headers = { authorization: `Basic ${Buffer.from(ADMIN).toString('base64')}` };
    const layout = new QueueShards(QUEUE_PREFIX, SHARDS);
    // One web picks the shards in turn: three jobs, three shards. Delayed, so they stay put.
    const ids = await Promise.all(
      Array.from({ length: SHARDS }, async () => {
        const response = await api(web.url, 'POST', '/api/jobs/sleep?delay=60000', { json: { ms: 1, steps: 1 } });
        return (response.body as Accepted).id;
      }),
    );
    const shards = ids.map((id) => layout.byTag(parseJobId(id)?.shardTag)?.index);
    expect(new Set(shards)).toEqual(new Set([0, 1, 2]));
    for (const [i, id] of ids.entries()) {
      const found = await api(web.url, 'GET', `/dashboard/find?id=${encodeURIComponent(id)}`, {
        headers,
        redirect: 'manual',
      });
      expect(found.status).toBe(303);
      expect(found.headers.get('location')).toBe(`/dashboard/jobs/queue/s${shards[i]}-default/${id}`);
      // bull-board knows the job under that queue name.
      const board = await api(web.url, 'GET', `/dashboard/jobs/api/queues/s${shards[i]}-default/${id}`, { headers });
      expect(board.status).toBe(200);
      expect((await api(web.url, 'DELETE', `/api/jobs/${id}`)).status).toBe(200);
    }
  });

  it('counts jobs per logical queue and shard in the worker metrics', async () => {
    const metrics = await api(worker.url, 'GET', '/metrics');
    const shards = new Set(
      [...metrics.text.matchAll(/^flotilla_jobs_total\{[^}]*queue="default"[^}]*shard="(\d+)"/gm)].map((m) => m[1]),
    );
    expect(shards).toEqual(new Set(['0', '1', '2']));
  });
});
