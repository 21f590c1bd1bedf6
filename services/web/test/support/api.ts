/** A response as the tests look at it. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly text: string;
}

/** Every (method, path, status) a test saw, for checking them against the OpenAPI document. */
export const seen: { method: string; path: string; status: number }[] = [];

/** Sends a request, records what came back, and parses JSON bodies. */
export async function api(
  base: string,
  method: string,
  path: string,
  options: {
    body?: string | Uint8Array;
    json?: unknown;
    headers?: Record<string, string>;
    redirect?: 'follow' | 'manual';
  } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(base + path, {
    method,
    headers,
    redirect: options.redirect ?? 'follow',
    ...(body !== undefined ? { body } : {}),
  });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  const parsed: unknown = type.includes('json') && text ? JSON.parse(text) : undefined;
  seen.push({ method, path: path.split('?')[0] ?? path, status: response.status });
  return { status: response.status, headers: response.headers, body: parsed, text };
}
