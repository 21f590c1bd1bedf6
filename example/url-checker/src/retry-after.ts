/**
 * The wait a Retry-After header asks for (delta-seconds or an HTTP date), cut to `capMs`;
 * undefined when there is no usable header.
 */
export function retryAfterMs(header: string | string[] | undefined, capMs: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value?.trim()) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(capMs, Math.max(0, ms)) : undefined;
}
