import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SharedSubscriber, createRedis, waitForReady, type RedisClient } from '@flotilla/redis';
import { inject } from 'vitest';

const clients: RedisClient[] = [];
const children = new Set<ChildProcess>();

/** A ready connection to the run's private Redis, closed by `closeAll` unless closed before. */
export async function client(role: 'producer' | 'subscriber' = 'producer'): Promise<RedisClient> {
  const redis = createRedis({ url: inject('redisUrl'), role });
  // Killed peers and closed watchers make noise; without a listener ioredis prints every error.
  (redis as EventEmitter).on('error', () => {});
  clients.push(redis);
  await waitForReady(redis, 5000);
  return redis;
}

/** A pub/sub connection of its own, as one process of the fleet holds it. */
export async function subscriber(): Promise<SharedSubscriber> {
  return new SharedSubscriber(await client('subscriber'));
}

/** A key prefix no other test uses. */
export function uniquePrefix(): string {
  return `t-${randomBytes(6).toString('hex')}:`;
}

/**
 * Runs a fixture script (which imports the built package) as a separate Node process, given the
 * private Redis URL and `args`; each line it prints goes to `onLine`. `closeAll` kills it.
 */
export function fixture(
  name: string,
  args: readonly string[],
  onLine: (line: string) => void = () => {},
): ChildProcess {
  const script = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  const child = spawn(process.execPath, [script, inject('redisUrl'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', onLine);
  return child;
}

/** Resolves with the exit code, or the name of the signal that ended it, once the child has exited. */
export function exited(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve(child.exitCode ?? String(child.signalCode));
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? String(signal))));
}

/** Kills every fixture still running and closes every connection. */
export async function closeAll(): Promise<void> {
  const running = [...children];
  for (const child of running) child.kill('SIGKILL');
  await Promise.all(running.map(exited));
  await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
}
