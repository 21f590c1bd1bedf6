import type { IncomingHttpHeaders } from 'node:http';

/**
 * The cache key of a GET (or HEAD) request: path, query parameters in a canonical order, and
 * the values of the headers the cached responses vary on. Two URLs that differ only in the
 * order of their parameters share one entry.
 */
export function pageKey(url: string, headers: IncomingHttpHeaders, vary: readonly string[]): string {
  const mark = url.indexOf('?');
  let key = mark === -1 ? url : url.slice(0, mark);
  if (mark !== -1 && mark < url.length - 1) {
    const params = [...new URLSearchParams(url.slice(mark + 1))];
    params.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
    if (params.length > 0) key += `?${new URLSearchParams(params).toString()}`;
  }
  for (const name of vary) {
    const value = headers[name];
    key += `\n${name}:${Array.isArray(value) ? value.join(',') : (value ?? '')}`;
  }
  return key;
}
