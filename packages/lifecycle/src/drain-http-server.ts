import type { Server } from 'node:http';

/**
 * Stops a server from accepting connections and waits for in-flight requests to finish.
 * Idle keep-alive sockets close at once; busy ones close after their current response. At the
 * deadline whatever is left is cut, so a stuck client cannot hold the process past its budget.
 */
export async function drainHttpServer(server: Server, deadline: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // close() ends only the sockets idle right now; one that finishes its response later would
  // otherwise stay open for the whole keep-alive timeout.
  server.closeIdleConnections();
  const sweeper = setInterval(() => server.closeIdleConnections(), 50);
  const remaining = Math.max(0, deadline - Date.now());
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
  clearInterval(sweeper);
}
