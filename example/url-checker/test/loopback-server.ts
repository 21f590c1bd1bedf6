import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A node:http server on 127.0.0.1 and an ephemeral port that counts what reaches it. */
export interface LoopbackServer {
  readonly url: string;
  readonly port: number;
  /** Requests received so far. */
  readonly requests: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Connections still open. */
  readonly sockets: ReadonlySet<Socket>;
  close(): Promise<void>;
}

/** Handles one request; `n` counts requests from 1. */
export type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

export async function loopbackServer(handle: Handler): Promise<LoopbackServer> {
  let requests = 0;
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => handle(req, res, ++requests));
  server.on('connection', (socket) => {
    connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        // Hung handlers would otherwise keep their connections, and close() waiting, forever.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 that nothing listens on: one a server just gave back. */
export async function closedPort(): Promise<number> {
  const server = await loopbackServer(() => {});
  await server.close();
  return server.port;
}
