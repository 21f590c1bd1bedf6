import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** What a server answered on a raw TCP connection, and whether and when it closed it. */
export interface RawExchange {
  /** Status code of the first response, undefined when none came. */
  readonly status: number | undefined;
  /** Headers of the first response, names in lower case. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
  /** Milliseconds from the first byte sent until the server closed the connection; undefined when it stayed open. */
  readonly closedAfterMs: number | undefined;
}

/**
 * Sends `chunks` over a fresh TCP connection to 127.0.0.1:`port`, `gapMs` apart (a slow client
 * sends a header line at a time), and reads until the server closes or `timeoutMs` passes. For
 * requests fetch refuses to send: control characters, bare line feeds, conflicting lengths.
 */
export async function rawExchange(
  port: number,
  chunks: readonly (string | Buffer)[],
  options: { gapMs?: number; timeoutMs?: number } = {},
): Promise<RawExchange> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.on('error', () => undefined); // a reset after the server's answer is expected
  const startedAt = Date.now();
  let closedAfterMs: number | undefined;
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closedAfterMs = Date.now() - startedAt;
      resolve();
    }),
  );
  const timeout = sleep(options.timeoutMs ?? 5000);
  for (const [index, chunk] of chunks.entries()) {
    if (closedAfterMs !== undefined || socket.destroyed) break;
    if (index > 0 && options.gapMs) await Promise.race([sleep(options.gapMs), closed]);
    if (closedAfterMs !== undefined || socket.destroyed) break;
    socket.write(chunk);
  }
  await Promise.race([closed, timeout]);
  socket.destroy();
  return { ...parseResponse(Buffer.concat(received).toString('latin1')), closedAfterMs };
}

function parseResponse(text: string): Omit<RawExchange, 'closedAfterMs'> {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { status: undefined, headers: new Map(), body: '' };
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const length = Number(headers.get('content-length') ?? NaN);
  const rest = text.slice(end + 4);
  return {
    status: Number(statusLine.split(' ')[1]),
    headers,
    body: Number.isFinite(length) ? rest.slice(0, length) : rest,
  };
}
