/** An answer the API refused, with its problem details (RFC 9457) when it sent them. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly problem:
      | {
          readonly title?: string;
          readonly detail?: string;
          readonly errors?: readonly { pointer: string; detail: string }[];
        }
      | undefined,
    path: string,
  ) {
    const fields = problem?.errors?.map((e) => `${e.pointer}: ${e.detail}`).join('; ');
    super(`${path}: ${status} ${problem?.detail ?? problem?.title ?? 'error'}${fields ? ` (${fields})` : ''}`);
  }
}

/** The web service could not be reached at all. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

/** Where the web API is and the Authorization header to send, if any. */
export interface ApiTarget {
  readonly baseUrl: string;
  readonly authorization?: string | undefined;
}

/** Calls the web API and returns the parsed JSON; throws ApiError or UnreachableError. */
export async function callApi<T>(
  target: ApiTarget,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const response = await open(target, path, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw await refusal(response, path);
  return (await jsonOf(response)) as T;
}

async function jsonOf(response: Response): Promise<unknown> {
  const text = await response.text();
  return text && (response.headers.get('content-type') ?? '').includes('json')
    ? (JSON.parse(text) as unknown)
    : undefined;
}

/** The ApiError for an answer that is not ok, with the problem details it carries. */
export async function refusal(response: Response, path: string): Promise<ApiError> {
  return new ApiError(response.status, (await jsonOf(response)) as ApiError['problem'], path);
}

/** Opens a request to the API (for streams); throws UnreachableError when nothing answers. */
export async function open(target: ApiTarget, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (target.authorization) headers.set('authorization', target.authorization);
  try {
    return await fetch(new URL(path, target.baseUrl), { ...init, headers });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new UnreachableError(`cannot reach ${target.baseUrl}: ${cause}`);
  }
}
