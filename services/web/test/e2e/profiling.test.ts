import { request as httpRequest, type ClientRequest } from 'node:http';
import { isolatedServiceEnv, spawnWeb, spawnWorker, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, type ApiResponse } from '../support/api.js';
import { undocumentedResponses } from '../support/openapi-coverage.js';

// Real web and worker processes: every profile is asked of one process through the web (another
// process), recorded by the inspector there, and handed back through Redis.
const ADMIN = 'ops:correct-horse-battery';
const admin = { authorization: `Basic ${Buffer.from(ADMIN).toString('base64')}` };
const MAX_SECONDS = 5;

interface Status {
  id: string;
  process: string;
  state: string;
  bytes?: number;
  error?: string;
  fileName: string;
  file: string;
}
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  startTime: number;
  endTime: number;
}
interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[] }; node_count: number; edge_count: number };
  nodes: number[];
  edges: number[];
  strings: string[];
}

// One fleet: every process shares the prefixes, so any web reaches any process.
let env: Record<string, string>;
let web: ServiceHandle;
// Runs fib on its main thread (WORKER_THREADS=false), where a CPU profile of the process sees it.
let fibWorker: ServiceHandle;
// Hands back at most 1 MB, less than any heap snapshot; later frozen, then killed.
let smallWorker: ServiceHandle;

beforeAll(async () => {
  env = {
    ...isolatedServiceEnv(inject('redisUrl')),
    ADMIN_BASIC_AUTH: ADMIN,
    PROFILE_MAX_SECONDS: String(MAX_SECONDS),
  };
  [web, fibWorker, smallWorker] = await Promise.all([
    spawnWeb(env),
    spawnWorker({ ...env, WORKER_QUEUES: 'cpu', WORKER_THREADS: 'false' }),
    // Its lease outlives a freeze of a few seconds, so the fleet still lists it while it cannot answer.
    spawnWorker({
      ...env,
      WORKER_QUEUES: 'default',
      PROFILE_MAX_MB: '1',
      MEMBERSHIP_HEARTBEAT_SECONDS: '5',
      MEMBERSHIP_TTL_SECONDS: '60',
    }),
  ]);
});

afterAll(async () => {
  smallWorker?.signal('SIGCONT');
  await Promise.all([web?.stop(), fibWorker?.stop(), smallWorker?.stop()]);
});

/** The fleet member id of a process, by its pid. */
async function processId(service: ServiceHandle): Promise<string> {
  let id: string | undefined;
  await waitFor(async () => {
    const { body } = await api(web.url, 'GET', '/api/members');
    const groups = (body as { groups: Record<string, { id: string; capabilities: { pid: string } }[]> }).groups;
    id = Object.values(groups)
      .flat()
      .find((m) => m.capabilities.pid === String(service.pid))?.id;
    return id !== undefined;
  });
  return id as string;
}

const ask = (process: string, body: unknown, headers: Record<string, string> = admin): Promise<ApiResponse> =>
  api(web.url, 'POST', `/api/admin/processes/${process}/profiles`, { json: body, headers });

/** Polls a profile until it is done or failed, and returns its last status. */
async function settled(location: string): Promise<Status> {
  let status: Status | undefined;
  await waitFor(
    async () => {
      status = (await api(web.url, 'GET', location, { headers: admin })).body as Status;
      return status.state === 'done' || status.state === 'failed';
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  return status as Status;
}

/** Opens an event stream and resolves once its headers arrived; destroy() closes it. */
async function openStream(path: string): Promise<ClientRequest> {
  const stream = httpRequest(web.url + path, { headers: { accept: 'text/event-stream' } });
  await new Promise<void>((resolve, reject) => {
    stream.once('response', () => resolve());
    stream.once('error', reject);
    stream.end();
  });
  return stream;
}

async function download(status: Status): Promise<{ response: Response; text: string }> {
  const response = await fetch(web.url + status.file, { headers: admin });
  return { response, text: await response.text() };
}

/** The frames holding the most samples of a CPU profile (self time), hottest first, as `name url`. */
function hottest(profile: CpuProfile, count: number): string[] {
  const frameOf = new Map(
    profile.nodes.map((node) => [node.id, `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url}`]),
  );
  const samples = new Map<string, number>();
  for (const id of profile.samples) {
    const frame = frameOf.get(id) ?? '?';
    samples.set(frame, (samples.get(frame) ?? 0) + 1);
  }
  // (idle), (program) and (garbage collector) are the engine's, not code's.
  return [...samples]
    .filter(([frame]) => !/^\(\w[\w ]*\) $/.test(frame))
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([frame]) => frame);
}

describe('profiling a live process through the web', () => {
  it('hands back a CPU profile of a worker busy with fib, its handler the hottest code', async () => {
    const worker = await processId(fibWorker);
    let loading = true;
    // Keeps the worker busy for the whole recording: fib jobs back to back, two at a time.
    const load = async (): Promise<void> => {
      while (loading) {
        const submitted = await api(web.url, 'POST', '/api/jobs/fib', {
          json: { n: 100_000 },
          headers: { 'idempotency-key': `fib-${Math.random()}` },
        });
        expect(submitted.status).toBe(202);
        const location = submitted.headers.get('location') ?? '';
        await waitFor(
          async () =>
            ['completed', 'failed'].includes(((await api(web.url, 'GET', location)).body as { state: string }).state),
          { timeoutMs: 30_000, intervalMs: 50 },
        );
      }
    };
    const loads = [load(), load()];
    try {
      const asked = await ask(worker, { kind: 'cpu', seconds: 2 });
      expect(asked.status).toBe(202);
      expect(asked.headers.get('location')).toBe(`/api/admin/profiles/${(asked.body as Status).id}`);
      expect(asked.body).toMatchObject({ process: worker, kind: 'cpu', seconds: 2, state: 'requested' });
      const status = await settled(asked.headers.get('location') ?? '');
      expect(status.state).toBe('done');
      expect(status.fileName).toMatch(/\.cpuprofile$/);

      const { response, text } = await download(status);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-disposition')).toBe(`attachment; filename="${status.fileName}"`);
      expect(Number(response.headers.get('content-length'))).toBe(status.bytes);
      const profile = JSON.parse(text) as CpuProfile;
      expect(profile.nodes.length).toBeGreaterThan(10);
      expect(profile.samples.length).toBeGreaterThan(100);
      // Microseconds: two seconds of recording, give or take the timer's slack.
      expect(profile.endTime - profile.startTime).toBeGreaterThanOrEqual(1_900_000);
      // The handler, with fibonacci() inlined into it by the optimiser, is the hottest code.
      expect(hottest(profile, 3).some((frame) => frame.endsWith('/services/worker/dist/handlers/fib.js'))).toBe(true);
    } finally {
      loading = false;
      await Promise.all(loads);
    }
  });

  it('hands back a heap snapshot of the web that holds an object the test planted', async () => {
    const self = await processId(web);
    // A job followed over SSE: the web holds the request, and a listener for the job, while the stream is open.
    const submitted = await api(web.url, 'POST', '/api/jobs/sleep', { json: { ms: 20_000, steps: 1 } });
    const path = `/api/jobs/${(submitted.body as { id: string }).id}/events`;
    const stream = await openStream(path);
    try {
      const asked = await ask(self, { kind: 'heap-snapshot' });
      expect(asked.status).toBe(202);
      expect(asked.body).toMatchObject({ kind: 'heap-snapshot', seconds: null });
      const status = await settled(asked.headers.get('location') ?? '');
      expect(status.state).toBe('done');
      expect(status.fileName).toMatch(/\.heapsnapshot$/);
      const { text } = await download(status);
      const snapshot = JSON.parse(text) as HeapSnapshot;
      const { meta, node_count: nodeCount, edge_count: edgeCount } = snapshot.snapshot;
      expect(snapshot.nodes.length).toBe(nodeCount * meta.node_fields.length);
      expect(edgeCount).toBeGreaterThan(nodeCount);
      expect(snapshot.edges.length).toBeGreaterThan(0);
      // The open request's URL, held by its IncomingMessage (the job id in the listener map is a slice of it).
      expect(snapshot.strings).toContain(path);
    } finally {
      stream.destroy();
    }
  });

  it('hands back a sampling heap profile of what the web allocated and still holds', async () => {
    const asked = await ask(await processId(web), { kind: 'heap-sampling', seconds: 2 });
    expect(asked.status).toBe(202);
    // Allocations that live past the recording: open event streams, each holding its request and listeners.
    const submitted = await api(web.url, 'POST', '/api/jobs/sleep', { json: { ms: 20_000, steps: 1 } });
    const streams = await Promise.all(
      Array.from({ length: 50 }, () => openStream(`/api/jobs/${(submitted.body as { id: string }).id}/events`)),
    );
    try {
      const status = await settled(asked.headers.get('location') ?? '');
      expect(status.state).toBe('done');
      expect(status.fileName).toMatch(/\.heapprofile$/);
      const profile = JSON.parse((await download(status)).text) as {
        head: { callFrame: { functionName: string } };
        samples: { size: number }[];
      };
      expect(profile.head.callFrame.functionName).toBe('(root)');
      expect(profile.samples.length).toBeGreaterThan(0);
    } finally {
      for (const stream of streams) stream.destroy();
    }
  });

  it('profiles each forked process of a web under WEB_CONCURRENCY, asked through another web', async () => {
    const clustered = await spawnWeb({ ...env, WEB_CONCURRENCY: '2' });
    try {
      let forks: { id: string; capabilities: { pid: string } }[] = [];
      await waitFor(async () => {
        const { groups } = (await api(web.url, 'GET', '/api/members')).body as { groups: { web: typeof forks } };
        forks = groups.web.filter((member) => member.capabilities.pid !== String(web.pid));
        return forks.length === 2;
      });
      expect(new Set(forks.map((fork) => fork.capabilities.pid)).size).toBe(2);
      for (const fork of forks) {
        const asked = await ask(fork.id, { kind: 'cpu', seconds: 1 });
        expect(asked.status).toBe(202);
        const status = await settled(asked.headers.get('location') ?? '');
        expect(status).toMatchObject({ state: 'done', process: fork.id });
        expect((JSON.parse((await download(status)).text) as CpuProfile).samples.length).toBeGreaterThan(0);
      }
    } finally {
      await clustered.stop();
    }
  });

  it('refuses what it cannot do, with problem JSON, and changes nothing', async () => {
    const worker = await processId(fibWorker);
    const problem = (response: ApiResponse) => ({
      status: response.status,
      type: response.headers.get('content-type')?.split(';')[0],
      body: response.body,
    });

    expect(problem(await ask(worker, { kind: 'cpu' }, {}))).toMatchObject({
      status: 401,
      type: 'application/problem+json',
    });
    expect(problem(await ask(worker, { kind: 'cpu' }, { ...admin, 'sec-fetch-site': 'cross-site' }))).toMatchObject({
      status: 403,
      body: { type: 'urn:flotilla:problem:cross-site-request' },
    });
    expect(problem(await ask('no-such-process', { kind: 'cpu' }))).toMatchObject({
      status: 404,
      body: { type: 'urn:flotilla:problem:process-not-found' },
    });
    for (const [body, pointer] of [
      [{ kind: 'cpu', seconds: MAX_SECONDS + 1 }, '#/seconds'],
      [{ kind: 'cpu', seconds: 1.5 }, '#/seconds'],
      [{ kind: 'heap-snapshot', seconds: 2 }, '#/seconds'],
      [{ kind: 'flame' }, '#/kind'],
      [{ kind: 'cpu', extra: true }, '#/'],
    ] as const) {
      const refused = await ask(worker, body);
      expect(refused.status, JSON.stringify(body)).toBe(422);
      expect((refused.body as { errors: { pointer: string }[] }).errors.map((e) => e.pointer)).toContain(pointer);
    }
    expect(
      (
        await api(web.url, 'POST', `/api/admin/processes/${worker}/profiles`, {
          body: 'kind=cpu',
          headers: { ...admin, 'content-type': 'application/x-www-form-urlencoded' },
        })
      ).status,
    ).toBe(415);
    expect(problem(await api(web.url, 'GET', '/api/admin/profiles/nothing-here', { headers: admin }))).toMatchObject({
      status: 404,
      body: { type: 'urn:flotilla:problem:profile-not-found' },
    });

    // One profile at a time per process; the file only once it is done.
    const first = await ask(worker, { kind: 'cpu', seconds: 2 });
    expect(first.status).toBe(202);
    expect(problem(await ask(worker, { kind: 'heap-snapshot' }))).toMatchObject({
      status: 409,
      body: { type: 'urn:flotilla:problem:profile-in-progress' },
    });
    expect(problem(await api(web.url, 'GET', (first.body as Status).file, { headers: admin }))).toMatchObject({
      status: 409,
      body: { type: 'urn:flotilla:problem:profile-not-ready' },
    });
    expect((await settled(first.headers.get('location') ?? '')).state).toBe('done');
    // Free again once it is done.
    const next = await ask(worker, { kind: 'cpu', seconds: 1 });
    expect(next.status).toBe(202);
    expect((await settled(next.headers.get('location') ?? '')).state).toBe('done');
  });

  it('fails a profile larger than PROFILE_MAX_MB with the reason, and the process goes on', async () => {
    const small = await processId(smallWorker);
    const asked = await ask(small, { kind: 'heap-snapshot' });
    const status = await settled(asked.headers.get('location') ?? '');
    expect(status).toMatchObject({ state: 'failed', error: expect.stringContaining('PROFILE_MAX_MB') as unknown });
    expect((await download(status)).response.status).toBe(409);
    expect((await fetch(`${smallWorker.url}/healthz`)).status).toBe(200);
  });

  it('ends with a clear error, not a hang, when the process does not answer or is gone', async () => {
    const small = await processId(smallWorker);
    smallWorker.signal('SIGSTOP');
    try {
      const asked = await ask(small, { kind: 'cpu', seconds: 1 });
      expect(asked.status).toBe(202);
      const status = await settled(asked.headers.get('location') ?? '');
      expect(status).toMatchObject({ state: 'failed', error: `process ${small} did not answer within 5 s` });
    } finally {
      smallWorker.signal('SIGCONT');
    }
    await smallWorker.kill('SIGKILL');
    // Its lease still lists it for a minute, but nothing listens on its channel any more.
    const gone = await ask(small, { kind: 'cpu', seconds: 1 });
    expect(gone.status).toBe(503);
    expect(gone.body).toMatchObject({ type: 'urn:flotilla:problem:process-unreachable' });
  });

  it('documents every route and status it answered here', async () => {
    expect((await undocumentedResponses(web.url)).undocumented).toEqual([]);
  });
});
