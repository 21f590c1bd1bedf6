import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRedisServer, freePort, RedisServerMissingError } from './redis-server.js';

/** Options for a private Redis Sentinel. */
export interface RedisSentinelOptions {
  /** Port of the master to monitor on 127.0.0.1. */
  readonly masterPort: number;
  /** Name the master is known by; defaults to `mymaster`. */
  readonly masterName?: string;
  /** How long the master must be silent before it counts as down; defaults to 1000 ms. */
  readonly downAfterMs?: number;
  /** Sentinel's failover-timeout; defaults to 5000 ms. */
  readonly failoverTimeoutMs?: number;
  readonly startTimeoutMs?: number;
}

/** A redis-sentinel child process on 127.0.0.1 that belongs to this process. */
export interface RedisSentinel {
  readonly port: number;
  readonly masterName: string;
  /** Stops the sentinel and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a Sentinel that alone (quorum 1) watches one master and fails it over to a replica.
 * By hand rather than through `startRedisServer`: Sentinel needs a writable config file as
 * its first argument. The caller owns it and must `stop()` it.
 */
export async function startRedisSentinel(options: RedisSentinelOptions): Promise<RedisSentinel> {
  const binary = findRedisServer();
  if (!binary) throw new RedisServerMissingError();
  const masterName = options.masterName ?? 'mymaster';
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-sentinel-'));
  const port = await freePort();
  const conf = join(dir, 'sentinel.conf');
  await writeFile(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      'daemonize no',
      `sentinel monitor ${masterName} 127.0.0.1 ${options.masterPort} 1`,
      `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 1000}`,
      `sentinel failover-timeout ${masterName} ${options.failoverTimeoutMs ?? 5000}`,
      '',
    ].join('\n'),
  );
  const child = spawn(binary, [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => process.off('exit', killOnExit));
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-sentinel did not start on port ${port}: ${output.trim()}`)),
        options.startTimeoutMs ?? 10_000,
      );
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes(`+monitor master ${masterName}`)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`redis-sentinel exited before it was ready: ${output.trim()}`));
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  // Keep draining its output so a chatty sentinel never blocks on a full pipe.
  child.stdout.resume();
  child.stderr.resume();
  return {
    port,
    masterName,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
