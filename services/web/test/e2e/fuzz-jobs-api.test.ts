import { brotliCompressSync, deflateSync, gzipSync, zstdCompressSync } from 'node:zlib';
import fc from 'fast-check';
import { catalog } from '@flotilla/jobs';
import type { ServiceHandle } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startWatchedWeb, stopWatchedWeb, type QueueStateReader, type WatchedWeb } from '../support/queue-state.js';

// Generated requests thrown at POST /api/jobs/:type of a real web process (no worker, so what
// is stored stays put). The job contracts' own zod schemas are the oracle of what is valid.
const BODY_LIMIT = 2048;
// About 15 % of the generated requests are valid (33-40 in runs of 250, one of 25); at 1,000 runs
// the floor of a tenth accepted lies more than four standard deviations below the expected 150.
const RUNS = 1000;
const PUBLIC_TYPES = catalog.publicContracts.map((c) => c.name);
const JSON_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/vnd.api+json',
  'application/json;charset="utf-8"',
  'Application/JSON',
];
const COMPRESS = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync, zstd: zstdCompressSync } as const;

let watched: WatchedWeb;
let web: ServiceHandle;
let state: QueueStateReader;

beforeAll(async () => {
  watched = await startWatchedWeb(inject('redisUrl'), {
    REQUEST_BODY_LIMIT_BYTES: String(BODY_LIMIT),
    // Protected routes to throw credentials at; 429s past the failure limit would hide the 401 path.
    ADMIN_BASIC_AUTH: 'ops:correct-horse-battery',
    METRICS_BEARER_TOKEN: 'the-metrics-token-of-the-fuzz-test',
    AUTH_FAILURE_LIMIT: '10000',
  });
  ({ web, state } = watched);
});

afterAll(() => stopWatchedWeb(watched));

interface Submission {
  readonly type: string;
  readonly body: string | Uint8Array;
  /** A real Content-Encoding the body is sent in (compressed accordingly, unless `garbled`). */
  readonly encoding: { readonly name: 'gzip' | 'deflate' | 'br' | 'zstd'; readonly garbled: boolean } | undefined;
  readonly contentType: string | undefined;
  readonly idempotencyKey: string | undefined;
  readonly delay: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

// Characters fetch will put in a header value: tab, and Latin-1 without controls and DEL.
const headerText = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({
    unit: fc
      .oneof(fc.constant('\t'), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }))
      .map((c) => (typeof c === 'string' ? c : String.fromCharCode(c))),
    maxLength,
  });

// Inputs shaped like each job type's, with values around and past its bounds, so that a good
// share is valid and the rest fails one field.
const shapes: Readonly<Record<string, fc.Arbitrary<unknown>>> = {
  fib: fc.record({
    n: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -5, max: 100_005 }) }, fc.double(), fc.string()),
  }),
  sleep: fc.record(
    { ms: fc.integer({ min: -1, max: 600_001 }), steps: fc.integer({ min: -1, max: 101 }) },
    { requiredKeys: ['ms'] },
  ),
  flaky: fc.record({ failTimes: fc.integer({ min: -1, max: 21 }) }),
  digest: fc.record({ ns: fc.array(fc.integer({ min: -1, max: 10_001 }), { maxLength: 22 }) }),
  'check-url': fc.record({
    url: fc.oneof({ weight: 3, arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }) }, fc.string()),
  }),
};

const randomBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: BODY_LIMIT - 40, max: BODY_LIMIT + 400 })
      .map((n) => JSON.stringify({ n: 1, pad: 'x'.repeat(n) })),
  },
);

// Half the time a declared type with an input shaped for it (sometimes with an unknown field
// added), otherwise any path segment with any body.
const typeAndBody: fc.Arbitrary<{ type: string; body: string | Uint8Array }> = fc.oneof(
  fc.constantFrom(...PUBLIC_TYPES).chain((type) =>
    fc.record({
      type: fc.constant(type),
      body: fc
        .tuple(
          shapes[type] ?? fc.jsonValue(),
          fc.oneof(
            { weight: 5, arbitrary: fc.constant(undefined) },
            { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
          ),
        )
        .map(([input, extra]) =>
          JSON.stringify(extra === undefined || typeof input !== 'object' ? input : { ...input, extra }),
        ),
    }),
  ),
  fc.record({
    type: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...PUBLIC_TYPES) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('nope', 'FIB', 'refresh-fragment', 'moderate-comment', '__proto__', 'constructor'),
      },
      { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 40 }).map((text) => encodeURIComponent(text)) },
    ),
    body: randomBody,
  }),
);

const submission: fc.Arbitrary<Submission> = fc
  .record({
    typeAndBody,
    contentType: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...JSON_TYPES) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          undefined,
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data',
          'application/json; charset=latin1',
        ),
      },
      { weight: 1, arbitrary: headerText(60) },
    ),
    idempotencyKey: fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.stringMatching(/^[\x21-\x7e]{1,40}$/) },
      { weight: 1, arbitrary: headerText(300) },
    ),
    delay: fc.oneof(
      { weight: 4, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.nat(700_000_000).map(String) },
      { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
    ),
    encoding: fc.oneof(
      { weight: 4, arbitrary: fc.constant(undefined) },
      {
        weight: 1,
        arbitrary: fc.record({
          name: fc.constantFrom('gzip' as const, 'deflate' as const, 'br' as const, 'zstd' as const),
          garbled: fc.boolean(),
        }),
      },
    ),
    headers: fc.dictionary(
      fc.constantFrom(
        'accept',
        'accept-encoding',
        'content-encoding',
        'content-language',
        'if-match',
        'last-event-id',
        'origin',
        'x-forwarded-for',
        'authorization',
        'cookie',
        'x-anything',
      ),
      headerText(80),
      { maxKeys: 3 },
    ),
  })
  .map(({ typeAndBody: { type, body }, ...rest }) => ({ type, body, ...rest }));

/** The bytes sent: the body, compressed as its encoding says (or sent raw under it, garbled). */
function wireBody(s: Submission): string | Uint8Array {
  if (!s.encoding || s.encoding.garbled) return s.body;
  return COMPRESS[s.encoding.name](typeof s.body === 'string' ? Buffer.from(s.body) : s.body);
}

/**
 * A header value as the server receives it: fetch strips the spaces and tabs around it, as HTTP
 * says receivers may, and nothing else (String.trim would strip U+00A0 too, which HTTP keeps).
 */
function httpTrim(value: string): string {
  return value.replace(/^[\t ]+|[\t ]+$/g, '');
}

/** Whether the request is one the API must accept: a public type, JSON, within limits, input valid. */
function mustAccept(s: Submission): boolean {
  const contract = catalog.publicContracts.find((c) => c.name === s.type);
  if (!contract || s.contentType === undefined || !JSON_TYPES.includes(s.contentType) || typeof s.body !== 'string')
    return false;
  if (s.encoding) {
    if (s.encoding.garbled) return false;
  } else {
    const encoding = s.headers['content-encoding'] && httpTrim(s.headers['content-encoding']).toLowerCase();
    if (encoding !== undefined && encoding !== '' && encoding !== 'identity') return false;
  }
  const key = s.idempotencyKey && httpTrim(s.idempotencyKey);
  if (key !== undefined && !/^[\x21-\x7e]{1,255}$/.test(key)) return false;
  if (s.delay !== undefined && !(/^\d{1,10}$/.test(s.delay) && Number(s.delay) <= 7 * 24 * 3600 * 1000)) return false;
  // The limit applies to the decoded body, whatever its size on the wire.
  if (Buffer.byteLength(s.body) > BODY_LIMIT) return false;
  return contract.input.safeParse(parsed(s.body)).success;
}

function parsed(text: string): unknown {
  if (text === '') return {};
  try {
    return (JSON.parse(text) as unknown) ?? {};
  } catch {
    return Symbol('not JSON');
  }
}

describe('POST /api/jobs/:type under generated input', () => {
  it(`keeps its invariants for ${RUNS} generated requests`, async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(submission, async (s) => {
        const headers: Record<string, string> = { ...s.headers };
        if (s.encoding) headers['content-encoding'] = s.encoding.name;
        if (s.contentType !== undefined) headers['content-type'] = s.contentType;
        if (s.idempotencyKey !== undefined) headers['idempotency-key'] = s.idempotencyKey;
        const query = s.delay !== undefined ? `?delay=${encodeURIComponent(s.delay)}` : '';
        const before = await state.read();
        const response = await fetch(`${web.url}/api/jobs/${s.type}${query}`, {
          method: 'POST',
          headers,
          body: wireBody(s),
        });
        const text = await response.text();
        const after = await state.read();
        const context = `${response.status} ${text.slice(0, 300)}`;

        // Never a server error, and only 202 or a client error.
        expect(response.status === 202 || (response.status >= 400 && response.status < 500), context).toBe(true);
        if (response.status !== 202) {
          // Problem JSON naming its status, and nothing stored.
          expect(response.headers.get('content-type'), context).toContain('application/problem+json');
          const problem = JSON.parse(text) as { type: string; status: number; title: string };
          expect(problem.type, context).toMatch(/^urn:flotilla:problem:[a-z-]+$/);
          expect(problem.status, context).toBe(response.status);
          expect(after, context).toEqual(before);
          // A valid submission may only be refused for reusing an idempotency key with other input.
          if (mustAccept(s)) expect(problem.type, context).toBe('urn:flotilla:problem:idempotency-key-reused');
          return;
        }
        // 202 only for valid input, and then exactly one stored job (none more on a replay).
        expect(
          mustAccept(s),
          `accepted an invalid request: ${JSON.stringify({ ...s, body: String(s.body).slice(0, 200) })}`,
        ).toBe(true);
        const { id } = JSON.parse(text) as { id: string };
        expect(await state.hasJob(id), context).toBe(true);
        const added = after.jobs.reduce((a, b) => a + b, 0) - before.jobs.reduce((a, b) => a + b, 0);
        // A flow (digest) stores its parent and one child per input number.
        const flowChildren = s.type === 'digest' ? (JSON.parse(s.body as string) as { ns: unknown[] }).ns.length : 0;
        expect(added, context).toBe(response.headers.get('idempotent-replayed') === 'true' ? 0 : 1 + flowChildren);
        accepted += 1;
      }),
      { numRuns: RUNS },
    );
    // The generators must reach the accepting path, or the property says little.
    expect(accepted).toBeGreaterThan(RUNS / 10);
  }, 60_000);
});

// Requests to the rest of the surface a browser or a scraper reaches: the site's pages and form,
// event streams with any Last-Event-ID, and the protected routes with any Authorization.
const idText = fc.oneof(
  fc.nat(10).map(String),
  fc.string({ maxLength: 30 }).map((t) => encodeURIComponent(t)),
);
const queryText = fc.oneof(
  fc.constant(''),
  fc.string({ maxLength: 300 }).map((t) => `?${encodeURIComponent(t)}=${encodeURIComponent(t)}`),
);
const otherRequest = fc.oneof(
  fc.record({
    method: fc.constant('GET'),
    path: fc.tuple(idText, queryText).map(([id, q]) => `/articles/${id}${q}`),
    headers: fc.constant({}),
    body: fc.constant(undefined),
  }),
  fc.record({
    method: fc.constant('GET'),
    path: queryText.map((q) => `/${q}`),
    headers: fc.constant({}),
    body: fc.constant(undefined),
  }),
  fc.record({
    method: fc.constant('POST'),
    path: idText.map((id) => `/articles/${id}/comments`),
    headers: fc
      .constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain')
      .map((type) => ({ 'content-type': type })),
    body: fc.oneof(
      fc.string({ maxLength: 200 }),
      fc
        .record({ author: fc.string({ maxLength: 40 }), text: fc.string({ maxLength: 300 }) })
        .map((f) => new URLSearchParams(f).toString()),
    ),
  }),
  fc.record({
    method: fc.constant('GET'),
    path: fc.constantFrom('/api/jobs/default.AAAAAAAAAAAAAAAAAAAAAA/events', '/api/jobs/nope/events'),
    headers: headerText(60).map((id) => ({ 'last-event-id': id })),
    body: fc.constant(undefined),
  }),
  fc.record({
    method: fc.constant('GET'),
    path: fc.constantFrom('/metrics', '/dashboard', '/api/admin/queues/default/jobs', '/api/members', '/api/queues'),
    headers: fc
      .tuple(fc.constantFrom('Bearer', 'bearer', 'Basic', 'BASIC', 'Digest', ''), headerText(60))
      .map(([scheme, credentials]) => ({ authorization: `${scheme} ${credentials}`.trim() })),
    body: fc.constant(undefined),
  }),
);

describe('the site, event streams and protected routes under generated input', () => {
  it('never answer 5xx, and answer every client error with problem JSON', async () => {
    await fc.assert(
      fc.asyncProperty(otherRequest, async (r) => {
        const response = await fetch(`${web.url}${r.path}`, {
          method: r.method,
          headers: r.headers as Record<string, string>,
          redirect: 'manual',
          signal: AbortSignal.timeout(5000),
          ...(r.body !== undefined ? { body: r.body } : {}),
        });
        const type = response.headers.get('content-type') ?? '';
        // An event stream is not read to its end: its status and type say enough.
        const text = type.startsWith('text/event-stream') ? '' : await response.text();
        if (type.startsWith('text/event-stream')) await response.body?.cancel();
        const context = `${r.method} ${r.path} → ${response.status} ${text.slice(0, 200)}`;
        expect(response.status, context).toBeLessThan(500);
        if (response.status >= 400) expect(type, context).toContain('application/problem+json');
      }),
      { numRuns: 300 },
    );
  }, 60_000);
});
