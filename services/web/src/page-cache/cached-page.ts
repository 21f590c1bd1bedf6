import { createHash } from 'node:crypto';
import type { CacheCodec } from '@flotilla/cache';

/** A whole HTTP response as the page cache keeps it. */
export interface CachedPage {
  readonly status: number;
  /** Response headers to replay, lower-case names; hop-by-hop and per-response ones excluded. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
  /** Strong validator: a hash of the body. */
  readonly etag: string;
  /** The route template that rendered it, for metrics of the hits that skip Express. */
  readonly route: string;
}

/** A strong ETag for a body: equal bytes give equal tags, on every replica. */
export function strongEtag(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

// Stored as: 4-byte length of a JSON head, the head (status, headers, etag), then the raw body.
// A binary frame keeps the body as bytes: no base64 on the way in or out.
const HEAD_LENGTH_BYTES = 4;

interface Head {
  readonly s: number;
  readonly h: CachedPage['headers'];
  readonly e: string;
  readonly r: string;
}

/** Codec of cached pages for the cache package. */
export const cachedPageCodec: CacheCodec<CachedPage> = Object.freeze({
  encode(page: CachedPage): Buffer {
    const head = Buffer.from(
      JSON.stringify({ s: page.status, h: page.headers, e: page.etag, r: page.route } satisfies Head),
    );
    const length = Buffer.alloc(HEAD_LENGTH_BYTES);
    length.writeUInt32BE(head.length);
    return Buffer.concat([length, head, page.body]);
  },
  decode(raw: Buffer): CachedPage {
    const headLength = raw.readUInt32BE(0);
    const head = JSON.parse(raw.subarray(HEAD_LENGTH_BYTES, HEAD_LENGTH_BYTES + headLength).toString('utf8')) as Head;
    // A copy, so the cached page does not pin the larger buffer it was read into.
    const body = Buffer.from(raw.subarray(HEAD_LENGTH_BYTES + headLength));
    return { status: head.s, headers: head.h, etag: head.e, route: head.r, body };
  },
  sizeOf(page: CachedPage): number {
    return page.body.length + page.headers.reduce((sum, [name, value]) => sum + name.length + value.length, 64);
  },
});
