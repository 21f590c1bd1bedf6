import { connect } from 'node:net';
import type { TestProject } from 'vitest/node';
import { describe, expect, it } from 'vitest';
import setup from '../src/global-setup.js';

async function ping(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return await new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().trim());
    });
    socket.once('error', reject);
  });
}

describe('global setup', () => {
  it('provides the URL of a private redis-server and stops it in teardown', async () => {
    const provided = new Map<string, unknown>();
    const project = { provide: (key: string, value: unknown) => provided.set(key, value) };
    const teardown = await setup(project as unknown as TestProject);
    const url = provided.get('redisUrl');
    expect(typeof url).toBe('string');
    const redisUrl = url as string;
    expect(new URL(redisUrl).port).not.toBe('6379');
    expect(await ping(redisUrl)).toBe('+PONG');
    await teardown();
    await expect(ping(redisUrl)).rejects.toThrow(/ECONNREFUSED/);
  });
});
