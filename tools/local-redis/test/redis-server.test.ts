import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startRedisServer } from '../src/index.js';

async function ping(port: number): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().trim());
    });
    socket.once('error', reject);
  });
}

describe('startRedisServer', () => {
  it('starts a private server on a free port, survives kill + restart, and stops', async () => {
    const server = await startRedisServer();
    try {
      expect(server.port).not.toBe(6379);
      expect(await ping(server.port)).toBe('+PONG');
      await server.kill('SIGKILL');
      await expect(ping(server.port)).rejects.toThrow(/ECONNREFUSED/);
      await server.restart();
      expect(await ping(server.port)).toBe('+PONG');
    } finally {
      await server.stop();
    }
    await expect(ping(server.port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('passes extra arguments to redis-server', async () => {
    const server = await startRedisServer({ args: ['--maxmemory-policy', 'allkeys-lru'] });
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect(server.port, '127.0.0.1', () => socket.write('CONFIG GET maxmemory-policy\r\n'));
        socket.once('data', (data) => {
          socket.destroy();
          resolve(data.toString());
        });
        socket.once('error', reject);
      });
      expect(reply).toContain('allkeys-lru');
    } finally {
      await server.stop();
    }
  });
});
