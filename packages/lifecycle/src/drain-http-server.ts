import { Server as NetServer } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** How long a keep-alive socket idle when the drain starts may still deliver a request. */
const IDLE_GRACE_MS = 1000;

/**
 * Stops a server from accepting connections and waits for in-flight requests to finish. Every
 * response from then on carries `Connection: close`, so clients stop reusing their sockets.
 * Sockets idle when the drain starts get a short grace before they are closed: a client may
 * already have sent its next request on one, and closing it unread would reset that request.
 * At the deadline whatever is left is cut, so a stuck client cannot hold the process past its
 * budget.
 */
export async function drainHttpServer(server: Server, deadline: number): Promise<void> {
  if (!server.listening) return;
  const lastResponse = (_req: IncomingMessage, res: ServerResponse): void => {
    res.setHeader('connection', 'close');
  };
  server.prependListener('request', lastResponse);
  // http.Server#close would also close the idle keep-alive sockets at once; net.Server#close
  // only stops accepting, and its callback still waits for every socket to end.
  const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
  const remaining = Math.max(0, deadline - Date.now());
  let sweeper: NodeJS.Timeout | undefined;
  // A socket that finishes its response later would otherwise stay open for the whole keep-alive timeout.
  const sweep = setTimeout(
    () => {
      server.closeIdleConnections();
      sweeper = setInterval(() => server.closeIdleConnections(), 50);
    },
    Math.min(IDLE_GRACE_MS, remaining / 2),
  );
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, remaining);
  });
  await Promise.race([closed, cut]);
  clearTimeout(timer);
  await closed;
  clearTimeout(sweep);
  clearInterval(sweeper);
  server.off('request', lastResponse);
}
