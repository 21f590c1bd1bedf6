/** One Server-Sent Event as received. */
export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: unknown;
}

/** Result of reading a stream until the server ends it (or the limit passes). */
export interface SseResult {
  readonly status: number;
  readonly contentType: string | null;
  readonly events: SseEvent[];
  readonly comments: number;
}

/**
 * Reads an SSE stream until the server closes it, `stopWhen` says so, or `timeoutMs` passes;
 * parses events per the EventSource rules the API uses (id, event, data lines).
 */
export async function readSse(
  url: string,
  options: { headers?: Record<string, string>; timeoutMs?: number; stopWhen?: (event: SseEvent) => boolean } = {},
): Promise<SseResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 15_000);
  const events: SseEvent[] = [];
  let comments = 0;
  try {
    const response = await fetch(url, { headers: options.headers ?? {}, signal: controller.signal });
    if (!response.body || !response.headers.get('content-type')?.startsWith('text/event-stream')) {
      return { status: response.status, contentType: response.headers.get('content-type'), events, comments };
    }
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let boundary: number;
        while ((boundary = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          let id: string | undefined;
          let event = 'message';
          const data: string[] = [];
          let isComment = true;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            isComment = false;
            const [field, ...rest] = line.split(':');
            const value = rest.join(':').replace(/^ /, '');
            if (field === 'id') id = value;
            else if (field === 'event') event = value;
            else if (field === 'data') data.push(value);
          }
          if (isComment) {
            comments++;
            continue;
          }
          if (data.length === 0) continue;
          const parsed: SseEvent = { id, event, data: JSON.parse(data.join('\n')) as unknown };
          events.push(parsed);
          if (options.stopWhen?.(parsed)) {
            controller.abort();
            return { status: response.status, contentType: response.headers.get('content-type'), events, comments };
          }
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
    return { status: response.status, contentType: response.headers.get('content-type'), events, comments };
  } finally {
    clearTimeout(timer);
  }
}
