import { randomBytes } from 'node:crypto';
import { createRedis, waitForReady } from '@flotilla/redis';
import { isolatedServiceEnv, spawnWeb, spawnWorker, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api } from '../support/api.js';
import { undocumentedResponses } from '../support/openapi-coverage.js';

// Two real web processes and a worker over one Redis: what a replica caches in memory must
// never outlive an invalidation made through another replica, or through the worker. The caches
// spread their entries over three key groups (CACHE_SHARDS=3), so every invalidation below
// crosses groups; the other end-to-end tests run the default single group.
let webA: ServiceHandle;
let webB: ServiceHandle;
let worker: ServiceHandle;
let cachePrefix: string;

interface ArticleBody {
  id: number;
  title: string;
  version: number;
}

async function page(web: ServiceHandle, path: string, headers: Record<string, string> = {}) {
  const response = await api(web.url, 'GET', path, { headers });
  return {
    status: response.status,
    cache: response.headers.get('x-cache'),
    etag: response.headers.get('etag'),
    text: response.text,
    headers: response.headers,
  };
}

async function createArticle(title: string): Promise<ArticleBody> {
  const response = await api(webA.url, 'POST', '/api/articles', { json: { title, body: `Body of ${title}.` } });
  expect(response.status, response.text).toBe(201);
  return response.body as ArticleBody;
}

async function comment(web: ServiceHandle, id: number, text: string) {
  return await api(web.url, 'POST', `/api/articles/${id}/comments`, { json: { author: 'Tester', text } });
}

beforeAll(async () => {
  const env = { ...isolatedServiceEnv(inject('redisUrl')), CACHE_SHARDS: '3' };
  cachePrefix = env.CACHE_PREFIX;
  [webA, webB, worker] = await Promise.all([
    spawnWeb({ ...env, REQUEST_BODY_LIMIT_BYTES: '4096' }),
    spawnWeb(env),
    spawnWorker(env),
  ]);
});

afterAll(async () => {
  const exits = await Promise.all([webA?.stop(), webB?.stop(), worker?.stop()]);
  for (const exit of exits) expect(exit).toEqual({ code: 0, signal: null });
});

describe('full-page cache', () => {
  it("spreads the page cache's entries over its three key groups", async () => {
    const articles = await Promise.all(Array.from({ length: 12 }, (_, i) => createArticle(`Spread ${i}`)));
    for (const { id } of articles) expect((await page(webA, `/articles/${id}`)).status).toBe(200);
    const redis = createRedis({ url: inject('redisUrl'), role: 'producer' });
    try {
      await waitForReady(redis, 5000);
      const keys = await redis.keys(`${cachePrefix}{pages*}:k:*`);
      const groups = new Set(keys.map((key) => /\{(pages[^}]*)\}/.exec(key)?.[1]));
      expect(groups.size).toBe(3);
    } finally {
      redis.disconnect();
    }
  });

  it('serves the sample home page: MISS, then HIT from memory with the same bytes and ETag', async () => {
    const first = await page(webA, '/');
    expect(first.status).toBe(200);
    expect(first.cache).toBe('MISS');
    expect(first.text).toContain('Stateless processes scale sideways');
    expect(first.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const second = await page(webA, '/');
    expect(second).toMatchObject({ status: 200, cache: 'HIT', etag: first.etag, text: first.text });
    expect(second.headers.get('content-type')).toContain('text/html');
  });

  it('answers If-None-Match with 304 on a hit and on a miss', async () => {
    const { id } = await createArticle('Conditional');
    const miss = await page(webA, `/articles/${id}`);
    expect(miss.cache).toBe('MISS');
    const hit304 = await page(webA, `/articles/${id}`, { 'if-none-match': miss.etag ?? '' });
    expect(hit304).toMatchObject({ status: 304, cache: 'HIT', etag: miss.etag, text: '' });
    // webB has not seen it: its miss path renders, finds the same strong ETag and answers 304.
    const miss304 = await page(webB, `/articles/${id}`, { 'if-none-match': `"other", ${miss.etag ?? ''}` });
    expect(miss304.status).toBe(304);
    expect(['MISS', 'HIT']).toContain(miss304.cache);
    expect((await page(webA, `/articles/${id}`, { 'if-none-match': '"stale"' })).status).toBe(200);
  });

  it('treats reordered query parameters as the same page', async () => {
    await page(webA, '/?b=2&a=1');
    expect((await page(webA, '/?a=1&b=2')).cache).toBe('HIT');
  });

  it('HEAD gets the headers of the cached page without a body', async () => {
    await page(webA, '/');
    const response = await fetch(`${webA.url}/`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-cache')).toBe('HIT');
    expect(await response.text()).toBe('');
  });
});

describe('coherence across replicas', () => {
  it('a comment posted through one replica is on the next page the other replica serves', async () => {
    const { id } = await createArticle('Coherence');
    for (let round = 0; round < 10; round++) {
      // Both replicas hold the page in memory...
      await page(webA, `/articles/${id}`);
      await page(webB, `/articles/${id}`);
      expect((await page(webB, `/articles/${id}`)).cache).toBe('HIT');
      // ...a write through A returns only after B has dropped its copy...
      const text = `round ${round} ${randomBytes(4).toString('hex')}`;
      expect((await comment(webA, id, text)).status).toBe(201);
      // ...so B's very next answer, with no waiting, shows the comment.
      const after = await page(webB, `/articles/${id}`);
      expect(after.cache).toBe('MISS');
      expect(after.text).toContain(text);
    }
  });

  it('invalidates exactly the pages that show the article', async () => {
    const shown = await createArticle('Shown');
    const other = await createArticle('Other');
    for (const path of ['/', `/articles/${shown.id}`, `/articles/${other.id}`]) {
      await page(webB, path);
      expect((await page(webB, path)).cache).toBe('HIT');
    }
    expect((await comment(webA, shown.id, 'only this one')).status).toBe(201);
    expect((await page(webB, `/articles/${shown.id}`)).cache).toBe('MISS');
    expect((await page(webB, '/')).cache).toBe('MISS');
    expect((await page(webB, `/articles/${other.id}`)).cache).toBe('HIT');
  });

  it('the home page lists a new article at once on every replica', async () => {
    await page(webB, '/');
    const { title } = await createArticle(`Fresh ${randomBytes(3).toString('hex')}`);
    const home = await page(webB, '/');
    expect(home.cache).toBe('MISS');
    expect(home.text).toContain(title);
  });

  it("the worker's moderation removes a spam comment and every replica's page drops it", async () => {
    const { id } = await createArticle('Moderated');
    const spam = `win at the casino ${randomBytes(3).toString('hex')}`;
    expect((await comment(webA, id, spam)).status).toBe(201);
    await page(webA, `/articles/${id}`);
    await page(webB, `/articles/${id}`);
    await waitFor(
      async () => {
        const comments = (await api(webA.url, 'GET', `/api/articles/${id}/comments`)).body as {
          comments: { text: string }[];
        };
        return !comments.comments.some((c) => c.text === spam);
      },
      { timeoutMs: 15_000, description: 'the worker removes the spam comment' },
    );
    for (const web of [webA, webB]) expect((await page(web, `/articles/${id}`)).text).not.toContain(spam);
  });
});

describe('articles API: ETags and optimistic concurrency', () => {
  it('GET has a strong ETag and answers If-None-Match with 304', async () => {
    const { id } = await createArticle('Etag');
    const first = await api(webA.url, 'GET', `/api/articles/${id}`);
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toBe(`"article-${id}-v1"`);
    expect((await api(webB.url, 'GET', `/api/articles/${id}`, { headers: { 'if-none-match': etag } })).status).toBe(
      304,
    );
  });

  it('PUT needs If-Match (428), refuses an outdated one (412) and changes nothing then', async () => {
    const { id } = await createArticle('Concurrency');
    const v1 = `"article-${id}-v1"`;
    const put = (headers: Record<string, string>, title: string) =>
      api(webA.url, 'PUT', `/api/articles/${id}`, { json: { title, body: 'new body' }, headers });

    const missing = await put({}, 'no precondition');
    expect(missing.status).toBe(428);
    expect(missing.body).toMatchObject({
      type: 'urn:flotilla:problem:precondition-required',
      errors: [{ pointer: 'If-Match' }],
    });

    const updated = await put({ 'if-match': v1 }, 'Second title');
    expect(updated.status).toBe(200);
    expect(updated.headers.get('etag')).toBe(`"article-${id}-v2"`);

    const lost = await put({ 'if-match': v1 }, 'Lost update');
    expect(lost.status).toBe(412);
    expect(lost.body).toMatchObject({ type: 'urn:flotilla:problem:precondition-failed' });
    expect((await api(webA.url, 'GET', `/api/articles/${id}`)).body).toMatchObject({
      title: 'Second title',
      version: 2,
    });
  });

  it('two writers with the same ETag: exactly one wins', async () => {
    const { id } = await createArticle('Race');
    const v1 = `"article-${id}-v1"`;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        api(i % 2 ? webA.url : webB.url, 'PUT', `/api/articles/${id}`, {
          json: { title: `writer ${i}`, body: 'b' },
          headers: { 'if-match': v1 },
        }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 412)).toHaveLength(7);
  });

  it('an update drops the cached article page on every replica', async () => {
    const { id } = await createArticle('Before');
    await page(webB, `/articles/${id}`);
    expect((await page(webB, `/articles/${id}`)).cache).toBe('HIT');
    await api(webA.url, 'PUT', `/api/articles/${id}`, {
      json: { title: 'After', body: 'changed' },
      headers: { 'if-match': '*' },
    });
    const after = await page(webB, `/articles/${id}`);
    expect(after.cache).toBe('MISS');
    expect(after.text).toContain('After');
  });
});

describe('bad input is refused with problem JSON and writes nothing', () => {
  const cases: {
    name: string;
    method: string;
    path: (id: number) => string;
    body?: string;
    headers?: Record<string, string>;
    status: number;
    code: string;
    pointer?: string;
  }[] = [
    {
      name: 'comment without text',
      method: 'POST',
      path: (id) => `/api/articles/${id}/comments`,
      body: '{"author":"a"}',
      headers: { 'content-type': 'application/json' },
      status: 422,
      code: 'validation-failed',
      pointer: '#/text',
    },
    {
      name: 'comment too long',
      method: 'POST',
      path: (id) => `/api/articles/${id}/comments`,
      body: JSON.stringify({ author: 'a', text: 'x'.repeat(2001) }),
      headers: { 'content-type': 'application/json' },
      status: 422,
      code: 'validation-failed',
      pointer: '#/text',
    },
    {
      name: 'comment with an extra field',
      method: 'POST',
      path: (id) => `/api/articles/${id}/comments`,
      body: '{"author":"a","text":"t","approved":true}',
      headers: { 'content-type': 'application/json' },
      status: 422,
      code: 'validation-failed',
    },
    {
      name: 'comment as text/plain',
      method: 'POST',
      path: (id) => `/api/articles/${id}/comments`,
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
      status: 415,
      code: 'unsupported-media-type',
    },
    {
      name: 'comment with malformed JSON',
      method: 'POST',
      path: (id) => `/api/articles/${id}/comments`,
      body: '{"author":',
      headers: { 'content-type': 'application/json' },
      status: 400,
      code: 'malformed-json',
    },
    {
      name: 'comment over the body limit',
      method: 'POST',
      path: (id) => `/api/articles/${id}/comments`,
      body: JSON.stringify({ author: 'a', text: 'x'.repeat(5000) }),
      headers: { 'content-type': 'application/json' },
      status: 413,
      code: 'payload-too-large',
    },
    {
      name: 'comment on a missing article',
      method: 'POST',
      path: () => '/api/articles/999999/comments',
      body: '{"author":"a","text":"t"}',
      headers: { 'content-type': 'application/json' },
      status: 404,
      code: 'article-not-found',
    },
    {
      name: 'form comment without a name',
      method: 'POST',
      path: (id) => `/articles/${id}/comments`,
      body: 'text=hi',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      status: 422,
      code: 'validation-failed',
      pointer: '#/author',
    },
    {
      name: 'update with an empty title',
      method: 'PUT',
      path: (id) => `/api/articles/${id}`,
      body: '{"title":"","body":"b"}',
      headers: { 'content-type': 'application/json', 'if-match': '*' },
      status: 422,
      code: 'validation-failed',
      pointer: '#/title',
    },
    {
      name: 'update with a foreign ETag',
      method: 'PUT',
      path: (id) => `/api/articles/${id}`,
      body: '{"title":"t","body":"b"}',
      headers: { 'content-type': 'application/json', 'if-match': '"article-0-v1"' },
      status: 412,
      code: 'precondition-failed',
    },
    {
      name: 'malformed article id',
      method: 'GET',
      path: () => '/api/articles/abc',
      status: 404,
      code: 'article-not-found',
    },
    {
      name: 'page of a missing article',
      method: 'GET',
      path: () => '/articles/999999',
      status: 404,
      code: 'article-not-found',
    },
    {
      name: 'bad stats window',
      method: 'GET',
      path: () => '/api/cache/stats?minutes=0',
      status: 422,
      code: 'validation-failed',
      pointer: 'minutes',
    },
  ];

  it.each(cases)('$name → $status $code', async (c) => {
    const { id } = await createArticle(`Bad input ${c.name}`);
    const before = await Promise.all([
      api(webA.url, 'GET', `/api/articles/${id}`),
      api(webA.url, 'GET', `/api/articles/${id}/comments`),
    ]);
    const response = await api(webA.url, c.method, c.path(id), {
      ...(c.body !== undefined ? { body: c.body } : {}),
      headers: c.headers ?? {},
    });
    expect(response.status, response.text).toBe(c.status);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({ type: `urn:flotilla:problem:${c.code}`, status: c.status });
    if (c.pointer)
      expect((response.body as { errors: { pointer: string }[] }).errors.map((e) => e.pointer)).toContain(c.pointer);
    const after = await Promise.all([
      api(webA.url, 'GET', `/api/articles/${id}`),
      api(webA.url, 'GET', `/api/articles/${id}/comments`),
    ]);
    expect(after.map((r) => r.body)).toEqual(before.map((r) => r.body));
  });
});

describe('statistics', () => {
  it('counts hits, misses and invalidations per cache, for this process and the fleet', async () => {
    const { id } = await createArticle('Counted');
    await page(webA, `/articles/${id}`);
    await page(webA, `/articles/${id}`);
    await comment(webA, id, 'invalidate');
    interface Report {
      name: string;
      process: { hits: number; misses: number; invalidations: number };
      fleet: { hits: number; misses: number }[];
    }
    const read = async () =>
      ((await api(webA.url, 'GET', '/api/cache/stats?minutes=5')).body as { caches: Report[] }).caches;
    const pages = (await read()).find((c) => c.name === 'pages');
    expect(pages?.process.hits).toBeGreaterThanOrEqual(1);
    expect(pages?.process.misses).toBeGreaterThanOrEqual(1);
    expect(pages?.process.invalidations).toBeGreaterThanOrEqual(1);
    // Processes add their counters to the fleet's every few seconds.
    await waitFor(
      async () => ((await read()).find((c) => c.name === 'pages')?.fleet ?? []).some((p) => p.hits > 0 && p.misses > 0),
      {
        timeoutMs: 15_000,
        description: 'fleet statistics',
      },
    );
    const html = await page(webA, '/cache');
    expect(html.status).toBe(200);
    expect(html.text).toContain('hits per regeneration');
  });
});

describe('the API document', () => {
  it('documents every article route and status this file saw', async () => {
    expect((await undocumentedResponses(webA.url)).undocumented).toEqual([]);
  });
});
