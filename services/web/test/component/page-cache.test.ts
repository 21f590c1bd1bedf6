import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Cache } from '@flotilla/cache';
import { SharedSubscriber } from '@flotilla/redis';
import { createLogger } from '@flotilla/telemetry';
import { waitFor } from '@flotilla/testkit';
import express from 'express';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cachedPageCodec, type CachedPage } from '../../src/page-cache/cached-page.js';
import { PageCache, cacheTags } from '../../src/page-cache/page-cache.js';

// The page cache in front of a small Express app, over the real Redis: what it stores, what it
// refuses to store, and what it answers from memory.
let server: Server;
let base: string;
let cache: Cache<CachedPage>;
let redis: Redis;
const subscribers: Redis[] = [];
let renders = 0;
const prefix = `t-${randomBytes(4).toString('hex')}:`;

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  cache = await Cache.create<CachedPage>({
    name: 'pages',
    redis,
    subscriber: subscriber(),
    prefix,
    codec: cachedPageCodec,
  });
  const pages = new PageCache({
    cache,
    ttlMs: 60_000,
    vary: ['accept-language'],
    query: ['q'],
    logger: createLogger({ service: 'web', level: 'silent' }),
    isDraining: () => false,
  });
  const app = express();
  app.use(pages.middleware());
  app.use((_req, _res, next) => {
    renders++;
    next();
  });
  app.get('/public', (req, res) => {
    cacheTags(res, ['t:public']);
    const q = req.query['q'];
    res
      .type('html')
      .set('x-custom', 'kept')
      .send(`<p>public ${typeof q === 'string' ? q : ''}</p>`);
  });
  app.get('/language', (req, res) => {
    res.type('text').send(`language ${req.get('accept-language') ?? 'none'}`);
  });
  app.get('/cookie', (_req, res) => res.cookie('session', 'abc').send('with cookie'));
  app.get('/private', (_req, res) => res.set('cache-control', 'private, max-age=60').send('private'));
  app.get('/no-store', (_req, res) => res.set('cache-control', 'no-store').send('no-store'));
  app.get('/missing', (_req, res) => res.status(404).send('not here'));
  app.get('/streamed', (_req, res) => {
    res.type('text');
    res.write('part one, ');
    res.end('part two');
  });
  server = createServer((req, res) => {
    if (pages.serveFromMemory(req, res) === undefined) void app(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await cache.close();
  await Promise.all([redis, ...subscribers].map((c) => c.quit()));
});

// A pub/sub connection of its own, as each web process has.
function subscriber(): SharedSubscriber {
  const client = new Redis(inject('redisUrl'));
  subscribers.push(client);
  return new SharedSubscriber(client);
}

async function get(path: string, headers: Record<string, string> = {}) {
  const before = renders;
  const response = await fetch(base + path, { headers });
  return {
    status: response.status,
    cache: response.headers.get('x-cache'),
    headers: response.headers,
    text: await response.text(),
    rendered: renders > before,
  };
}

describe('PageCache', () => {
  it('stores a public 200 with its headers and replays it from memory without rendering', async () => {
    const miss = await get('/public?q=1');
    expect(miss).toMatchObject({ status: 200, cache: 'MISS', rendered: true });
    const hit = await get('/public?q=1');
    expect(hit).toMatchObject({ status: 200, cache: 'HIT', rendered: false, text: miss.text });
    expect(hit.headers.get('x-custom')).toBe('kept');
    expect(hit.headers.get('content-type')).toBe(miss.headers.get('content-type'));
    expect(hit.headers.get('etag')).toBe(miss.headers.get('etag'));
    expect(hit.headers.get('set-cookie')).toBeNull();
  });

  it('a tag invalidation makes the next request render again', async () => {
    await get('/public?q=2');
    expect((await get('/public?q=2')).cache).toBe('HIT');
    await cache.invalidateTags(['t:public']);
    expect(await get('/public?q=2')).toMatchObject({ cache: 'MISS', rendered: true });
  });

  it.each(['/cookie', '/private', '/no-store', '/missing'])('never stores %s', async (path) => {
    await get(path);
    const again = await get(path);
    expect(again.rendered).toBe(true);
    expect(again.cache).toBe('MISS');
  });

  it('never answers a request with Authorization from the cache', async () => {
    await get('/public?q=auth');
    expect(await get('/public?q=auth', { authorization: 'Bearer x' })).toMatchObject({ rendered: true });
  });

  it('keeps one copy per value of a declared Vary header', async () => {
    expect((await get('/language', { 'accept-language': 'de' })).text).toBe('language de');
    expect((await get('/language', { 'accept-language': 'fr' })).text).toBe('language fr');
    const de = await get('/language', { 'accept-language': 'de' });
    expect(de).toMatchObject({ cache: 'HIT', text: 'language de' });
    expect(de.headers.get('vary')).toBe('accept-language');
  });

  it('caches a response written in several chunks', async () => {
    const miss = await get('/streamed');
    expect(miss.text).toBe('part one, part two');
    expect(await get('/streamed')).toMatchObject({ cache: 'HIT', text: 'part one, part two', rendered: false });
  });

  it('a replica without the page in memory reads it from Redis without rendering', async () => {
    await get('/public?q=l2', { 'accept-language': 'en' });
    const other = await Cache.create<CachedPage>({
      name: 'pages',
      redis,
      subscriber: subscriber(),
      prefix,
      codec: cachedPageCodec,
    });
    try {
      const key = '/public?q=l2\naccept-language:en';
      // The page is written to Redis after the response went out.
      await waitFor(async () => (await other.get(key)) !== undefined, {
        timeoutMs: 5000,
        description: 'the page in Redis',
      });
      const hit = await other.get(key);
      expect(hit?.tier).toMatch(/^l[12]$/);
      expect(hit?.value.body.toString()).toBe('<p>public l2</p>');
    } finally {
      await other.close();
    }
  });
});
