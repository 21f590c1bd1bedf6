import { startRedisServer, type RedisServer } from '@flotilla/local-redis';
import type { ServiceHandle } from '@flotilla/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';

export interface OwnRedis {
  readonly url: string;
  /** A plain client for the test's own reads and commands (INFO, CLIENT PAUSE). */
  readonly admin: Redis;
  /** Stops the service when the file's tests are done, before its Redis goes. */
  track<T extends ServiceHandle>(handle: T): T;
}

/**
 * A redis-server for this test file alone, for tests that pause it or read its memory and so
 * cannot share the suite's. Registers its own beforeAll/afterAll; call at the top of the file.
 */
export function useOwnRedis(): OwnRedis {
  let server: RedisServer | undefined;
  let admin: Redis | undefined;
  const started: ServiceHandle[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
  });

  afterAll(async () => {
    await Promise.all(started.splice(0).map((s) => s.stop()));
    await admin?.quit();
    await server?.stop();
  });

  return {
    get url() {
      if (!server) throw new Error('useOwnRedis: read url inside a test or hook');
      return server.url;
    },
    get admin() {
      if (!admin) throw new Error('useOwnRedis: read admin inside a test or hook');
      return admin;
    },
    track(handle) {
      started.push(handle);
      return handle;
    },
  };
}
