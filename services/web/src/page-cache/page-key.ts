import type { IncomingHttpHeaders } from 'node:http';

// Past this many characters of kept query, a page is neither served from nor stored in the cache:
// no client-chosen string of any length becomes a stored key.
const MAX_KEPT_QUERY = 256;

/**
 * The cache key of a GET (or HEAD) request: path, the query parameters the cached pages depend
 * on (`query`) in a canonical order, and the values of the headers they vary on; undefined when
 * the request must not use the cache (its kept query is too long). Other parameters (a
 * cache-buster `?cb=123`) do not make a new entry.
 */
export function pageKey(
  url: string,
  headers: IncomingHttpHeaders,
  vary: readonly string[],
  query: ReadonlySet<string>,
): string | undefined {
  const mark = url.indexOf('?');
  let key = mark === -1 ? url : url.slice(0, mark);
  if (mark !== -1 && mark < url.length - 1 && query.size > 0) {
    const params = [...new URLSearchParams(url.slice(mark + 1))].filter(([name]) => query.has(name));
    params.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
    if (params.length > 0) {
      const kept = new URLSearchParams(params).toString();
      if (kept.length > MAX_KEPT_QUERY) return undefined;
      key += `?${kept}`;
    }
  }
  for (const name of vary) {
    const value = headers[name];
    key += `\n${name}:${Array.isArray(value) ? value.join(',') : (value ?? '')}`;
  }
  return key;
}
