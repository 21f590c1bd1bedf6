import { createServer, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger } from '@flotilla/telemetry';
import { describe, expect, it, vi } from 'vitest';
import { Shutdown, drainHttpServer } from '../src/index.js';

const silent = createLogger({
  service: 'test',
  level: 'silent',
  destination: new Writable({ write: (_c, _e, done) => done() }),
});

describe('Shutdown', () => {
  it('runs steps in order once, however often it is called, and exits with 0', async () => {
    const exits: number[] = [];
    const order: string[] = [];
    const shutdown = new Shutdown({ logger: silent, timeoutMs: 5000, exit: (code) => exits.push(code) });
    shutdown.add('first', () => {
      order.push('first');
    });
    shutdown.add('second', () => {
      order.push('second');
    });
    expect(shutdown.isDraining).toBe(false);
    const a = shutdown.shutdown('SIGTERM');
    const b = shutdown.shutdown('SIGTERM');
    expect(shutdown.isDraining).toBe(true);
    expect(a).toBe(b);
    await a;
    expect(order).toEqual(['first', 'second']);
    expect(exits).toEqual([0]);
  });

  it('runs release steps after every drain step, whenever they were added', async () => {
    const order: string[] = [];
    const shutdown = new Shutdown({ logger: silent, timeoutMs: 5000, exit: () => undefined });
    shutdown.add(
      'close connections',
      () => {
        order.push('close connections');
      },
      'release',
    );
    shutdown.add('finish work', () => {
      order.push('finish work');
    });
    await shutdown.shutdown('SIGTERM');
    expect(order).toEqual(['finish work', 'close connections']);
  });

  it('keeps going after a failing step and exits non-zero', async () => {
    const exits: number[] = [];
    const ran: string[] = [];
    const shutdown = new Shutdown({ logger: silent, timeoutMs: 5000, exit: (code) => exits.push(code) });
    shutdown.add('broken', () => {
      throw new Error('boom');
    });
    shutdown.add('after', () => {
      ran.push('after');
    });
    await shutdown.shutdown('SIGINT');
    expect(ran).toEqual(['after']);
    expect(exits).toEqual([1]);
  });

  it('gives each step the absolute deadline', async () => {
    let seen = 0;
    const shutdown = new Shutdown({ logger: silent, timeoutMs: 3000, exit: () => undefined });
    const before = Date.now();
    shutdown.add('deadline', (deadline) => {
      seen = deadline;
    });
    await shutdown.shutdown('test');
    expect(seen).toBeGreaterThanOrEqual(before + 3000);
    expect(seen).toBeLessThanOrEqual(Date.now() + 3000);
  });
});

describe('drainHttpServer', () => {
  it('lets an in-flight request finish, then closes', async () => {
    let release: () => void = () => undefined;
    const server = createServer((_req, res) => {
      release = () => res.end('done');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const response = new Promise<string>((resolve, reject) => {
      request({ port, host: '127.0.0.1', path: '/' }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      })
        .on('error', reject)
        .end();
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const drained = drainHttpServer(server, Date.now() + 5000);
    setTimeout(() => release(), 100);
    expect(await response).toBe('done');
    await drained;
    expect(server.listening).toBe(false);
  });

  it('answers a request that reached an idle keep-alive socket just as the drain began, with Connection: close', async () => {
    const server = createServer((req, res) => res.end(`ok ${req.url ?? ''}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const ended = new Promise<string | undefined>((resolve) => {
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code));
      socket.on('close', () => resolve(undefined));
    });
    await new Promise((resolve) => socket.on('connect', resolve));
    socket.write('GET /1 HTTP/1.1\r\nHost: test\r\n\r\n');
    await vi.waitFor(() => expect(received).toContain('ok /1'), { timeout: 5000 });
    // The next request is in the server's socket buffer, unread, when the drain starts.
    socket.write('GET /2 HTTP/1.1\r\nHost: test\r\n\r\n');
    const until = Date.now() + 20;
    while (Date.now() < until) {
      // Busy: the bytes arrive while the event loop cannot read them.
    }
    const drained = drainHttpServer(server, Date.now() + 5000);
    expect(await ended).toBeUndefined();
    expect(received).toMatch(/ok \/1HTTP\/1\.1 200 OK\r\n[^]*[Cc]onnection: close[^]*ok \/2$/);
    await drained;
    expect(server.listening).toBe(false);
  });

  it('cuts connections that outlive the deadline', async () => {
    const server = createServer(() => {
      // never answers
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const failed = new Promise<string>((resolve) => {
      request({ port, host: '127.0.0.1', path: '/' })
        .on('error', (e) => resolve(e.message))
        .end();
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await drainHttpServer(server, Date.now() + 200);
    expect(await failed).toMatch(/socket hang up|ECONNRESET/);
  });
});
