import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a sink has received so far. */
export interface OtlpReceived {
  readonly requests: number;
  readonly bytes: number;
}

/** An OTLP/HTTP endpoint that accepts and drops everything, standing in for a collector. */
export interface OtlpSink {
  readonly url: string;
  readonly server: Server;
  received(): OtlpReceived;
}

/** Starts a sink on a free loopback port. */
export async function startOtlpSink(): Promise<OtlpSink> {
  let requests = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    received: () => ({ requests, bytes }),
  };
}
