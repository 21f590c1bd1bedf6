import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpProblem, PROBLEMS, problemJson } from './problems.js';

function problemOf(code: string | undefined): HttpProblem {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new HttpProblem('headers-too-large', 'the request headers exceed the size this server accepts');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new HttpProblem('request-timeout', 'the request did not arrive in time; the connection is closed');
    default:
      return new HttpProblem('bad-request', 'the request is not valid HTTP/1.1');
  }
}

/**
 * Answers a request Node's HTTP parser refused before Express saw it — headers too large, too
 * slow to arrive (slow-loris), not HTTP — with problem JSON like every other error, then closes
 * the connection. Same guard as Node's own answer: nothing is written once a response on this
 * connection has begun, which would corrupt it.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const problem = problemOf(error.code);
  const { status, title } = PROBLEMS[problem.code];
  const body = problemJson(problem, undefined);
  // Destroyed once the answer is handed to the kernel: a slow-loris client that never closes
  // its end must not keep the socket.
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `cache-control: no-store\r\nx-content-type-options: nosniff\r\nconnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}
