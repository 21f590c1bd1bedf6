import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback HTTP server that counts what reaches it. */
export interface LoopbackServer {
  readonly url: string;
  readonly port: number;
  requests: number;
  connections: number;
  inFlight: number;
  maxInFlight: number;
  close(): Promise<void>;
}

export async function loopbackServer(handle: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<LoopbackServer> {
  const server: Server = createServer((req, res) => {
    state.requests++;
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    res.once('close', () => state.inFlight--);
    handle(req, res, state.requests);
  });
  server.on('connection', () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const state: LoopbackServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: 0,
    connections: 0,
    inFlight: 0,
    maxInFlight: 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return state;
}
