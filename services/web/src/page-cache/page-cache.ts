import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Cache } from '@flotilla/cache';
import type { Logger } from '@flotilla/telemetry';
import type { Request, RequestHandler, Response } from 'express';
import { strongEtag, type CachedPage } from './cached-page.js';
import { ifNoneMatchHits } from './conditional.js';
import { pageKey } from './page-key.js';

/** Options of the full-page cache. */
export interface PageCacheOptions {
  readonly cache: Cache<CachedPage>;
  /** Fresh period of a cached page. */
  readonly ttlMs: number;
  /** Request headers cached responses vary on, lower-case (e.g. `accept-language`). */
  readonly vary?: readonly string[];
  /**
   * Query parameters the cached pages depend on; any other parameter is left out of the key, so a
   * flood of distinct query strings makes no new entries. Default: none.
   */
  readonly query?: readonly string[];
  readonly logger: Logger;
  /** While draining, every response carries `Connection: close`; the fast path steps aside. */
  readonly isDraining: () => boolean;
}

/** How a response was served, as the X-Cache header tells it. */
export type CacheOutcome = 'HIT' | 'MISS' | 'STALE';

// Per-response headers the cache must not replay: they describe one connection or one send.
const NOT_REPLAYED = new Set([
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'etag',
  'x-cache',
  'age',
  'vary',
]);
const UNCACHEABLE_DIRECTIVE = /(?:^|,)\s*(?:private|no-store|no-cache)\b/i;
const TAGS = 'flotillaCacheTags';

/** Declares what a page depends on: invalidating any of these tags drops it from every replica. */
export function cacheTags(res: Response, tags: readonly string[]): void {
  res.locals[TAGS] = tags;
}

/** Requests a shared cache must not answer from, or store for (RFC 9111 §3.5). */
function bypasses(req: IncomingMessage): boolean {
  return req.headers.authorization !== undefined;
}

/**
 * Full-page cache: whole GET responses (status, headers, body) with a strong ETag, keyed by
 * path, normalised query and declared Vary headers. Fresh pages held in this process are
 * served by {@link serveFromMemory} before Express runs at all; the rest go through
 * {@link middleware}, which reads Redis and records what the route renders.
 */
export class PageCache {
  private readonly vary: readonly string[];
  private readonly query: ReadonlySet<string>;
  /** The Vary header every cached response carries, or undefined when nothing varies. */
  private readonly varyValue: string | undefined;
  // Flattened header lists per cached page object, so a memory hit does no header work.
  private readonly rawHeaders = new WeakMap<CachedPage, string[]>();

  constructor(private readonly options: PageCacheOptions) {
    this.vary = (options.vary ?? []).map((name) => name.toLowerCase());
    this.query = new Set(options.query ?? []);
    this.varyValue = this.vary.length > 0 ? this.vary.join(', ') : undefined;
  }

  /**
   * Answers from this process's memory when it holds a fresh copy, and returns the route
   * template of the page it served; undefined when it cannot answer.
   */
  serveFromMemory(req: IncomingMessage, res: ServerResponse): string | undefined {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || bypasses(req) || this.options.isDraining()) return undefined;
    const key = pageKey(req.url ?? '/', req.headers, this.vary, this.query);
    if (key === undefined) return undefined;
    const hit = this.options.cache.peek(key);
    if (hit?.freshness !== 'fresh') return undefined;
    this.send(req, res, hit.value, 'HIT');
    return hit.value.route;
  }

  /** Express middleware for routes whose GET responses may be cached. */
  middleware(): RequestHandler {
    return async (req, res, next) => {
      if ((req.method !== 'GET' && req.method !== 'HEAD') || bypasses(req)) {
        next();
        return;
      }
      const key = pageKey(req.originalUrl, req.headers, this.vary, this.query);
      if (key === undefined) {
        next();
        return;
      }
      let fence: string;
      try {
        const hit = await this.options.cache.get(key);
        if (hit) {
          this.send(req, res, hit.value, hit.freshness === 'fresh' ? 'HIT' : 'STALE');
          return;
        }
        // Taken before the route reads any data: if what the page shows is invalidated while
        // it renders, the rendered page is not stored.
        fence = await this.options.cache.fence();
      } catch (error) {
        // The cache is an optimisation: with its Redis unreachable, pages are rendered uncached.
        this.options.logger.warn({ err: (error as Error).message, key }, 'page cache read failed');
        next();
        return;
      }
      res.setHeader('x-cache', 'MISS');
      if (req.method === 'GET') this.record(req, res, key, fence);
      next();
    };
  }

  private send(req: IncomingMessage, res: ServerResponse, page: CachedPage, outcome: CacheOutcome): void {
    if (ifNoneMatchHits(req.headers['if-none-match'], page.etag)) {
      res.writeHead(304, { etag: page.etag, 'x-cache': outcome, ...(this.varyValue ? { vary: this.varyValue } : {}) });
      res.end();
      return;
    }
    let headers = this.rawHeaders.get(page);
    if (!headers) {
      headers = page.headers.flatMap(([name, value]) => [name, value]);
      headers.push('etag', page.etag, 'content-length', String(page.body.length));
      if (this.varyValue) headers.push('vary', this.varyValue);
      headers.push('x-cache', 'HIT');
      this.rawHeaders.set(page, headers);
    }
    // The list ends with X-Cache: HIT, the answer of nearly every replay.
    res.writeHead(page.status, outcome === 'HIT' ? headers : [...headers.slice(0, -1), outcome]);
    res.end(req.method === 'HEAD' ? undefined : page.body);
  }

  /**
   * Lets the route render, collecting what it sends; a cacheable response gets its ETag (and
   * becomes a 304 when the client already has it) and is stored with the route's tags.
   */
  private record(req: Request, res: Response, key: string, fence: string): void {
    const chunks: Buffer[] = [];
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => Response;
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      collect(chunks, chunk, rest[0]);
      return write(chunk, ...rest);
    }) as Response['write'];
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      if (typeof chunk !== 'function') collect(chunks, chunk, rest[0]);
      if (!cacheable(res)) return end(chunk, ...rest);
      const body = Buffer.concat(chunks);
      const etag = strongEtag(body);
      const template = (req.route as { path?: unknown } | undefined)?.path;
      const route = `${req.baseUrl}${typeof template === 'string' ? template : req.path}`;
      this.store(key, { status: res.statusCode, headers: replayable(res.getHeaders()), body, etag, route }, res, fence);
      // A streamed response is already on its way without the ETag; the hits that follow carry it.
      if (res.headersSent) return end(chunk, ...rest);
      res.setHeader('etag', etag);
      if (this.varyValue) res.setHeader('vary', this.varyValue);
      if (ifNoneMatchHits(req.headers['if-none-match'], etag)) {
        res.statusCode = 304;
        res.removeHeader('content-length');
        res.removeHeader('content-type');
        return end();
      }
      return end(chunk, ...rest);
    }) as Response['end'];
  }

  private store(key: string, page: CachedPage, res: Response, fence: string): void {
    const tags = (res.locals[TAGS] as readonly string[] | undefined) ?? [];
    this.options.cache.set(key, page, { ttlMs: this.options.ttlMs, tags, fence }).catch((error: unknown) => {
      this.options.logger.warn({ err: (error as Error).message, key }, 'page cache write failed');
    });
  }
}

function collect(chunks: Buffer[], chunk: unknown, encoding: unknown): void {
  if (chunk === undefined || chunk === null) return;
  if (Buffer.isBuffer(chunk)) chunks.push(chunk);
  else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  else if (typeof chunk === 'string')
    chunks.push(Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
}

/** Only complete 200s meant for everyone: no cookies, nothing private, nothing uncacheable. */
function cacheable(res: Response): boolean {
  if (res.statusCode !== 200 || res.hasHeader('set-cookie')) return false;
  const control = res.getHeader('cache-control');
  return !(typeof control === 'string' && UNCACHEABLE_DIRECTIVE.test(control));
}

function replayable(headers: OutgoingHttpHeaders): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || NOT_REPLAYED.has(name)) continue;
    if (Array.isArray(value)) for (const item of value) out.push([name, item]);
    else out.push([name, String(value)]);
  }
  return out;
}
