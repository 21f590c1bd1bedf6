import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from './find-executable.js';

/** Options for a private redis-server. */
export interface RedisServerOptions {
  /** Port to listen on; a free one is picked when omitted. */
  readonly port?: number;
  /** Extra redis-server arguments, e.g. `['--maxmemory-policy', 'allkeys-lru']`. */
  readonly args?: readonly string[];
  /** How long to wait for the server to accept connections. */
  readonly startTimeoutMs?: number;
}

/** A redis-server child process on 127.0.0.1 that belongs to this process. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Working directory (AOF/RDB files live here while the server runs). */
  readonly dir: string;
  /** Stops the server (SIGTERM) and removes its directory. */
  stop(): Promise<void>;
  /** Kills the server with a signal and waits for it to exit; the directory is kept. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and directory after `kill`. */
  restart(): Promise<void>;
}

/** Thrown when no `redis-server` binary is on the PATH. */
export class RedisServerMissingError extends Error {
  constructor() {
    super(
      'redis-server was not found on the PATH; install it (Debian/Ubuntu: `apt-get install redis-server`, macOS: `brew install redis`) or set REDIS_URL',
    );
    this.name = 'RedisServerMissingError';
  }
}

// Logged at the default `notice` level once the server accepts clients.
const READY_LINE = /Ready to accept connections/;

/** Path of the redis-server binary, or undefined when it is not installed. */
export function findRedisServer(): string | undefined {
  return findExecutable('redis-server');
}

/** Asks the kernel for a port that is free right now on the loopback interface. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

/**
 * Starts a redis-server that keeps nothing on disk unless `args` ask for it, bound to
 * 127.0.0.1 only. The caller owns it and must `stop()` it.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = findRedisServer();
  if (!binary) throw new RedisServerMissingError();
  const host = '127.0.0.1';
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-redis-'));
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  // A port picked by freePort can be taken before redis binds it; pick again a few times.
  const attempts = options.port === undefined ? 5 : 1;
  let port = options.port ?? (await freePort(host));
  let child: ChildProcess | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      child = await launch(binary, host, port, dir, options.args ?? [], timeoutMs);
      break;
    } catch (error) {
      if (attempt >= attempts) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
      port = await freePort(host);
    }
  }

  let current: ChildProcess | undefined = child;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const running = current;
    current = undefined;
    if (running) await terminate(running, signal);
  };
  return {
    host,
    port,
    url: `redis://${host}:${port}`,
    dir,
    kill,
    async restart() {
      if (current) throw new Error('redis-server is still running; kill it first');
      current = await launch(binary, host, port, dir, options.args ?? [], timeoutMs);
    },
    async stop() {
      await kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function launch(
  binary: string,
  host: string,
  port: number,
  dir: string,
  extraArgs: readonly string[],
  timeoutMs: number,
): Promise<ChildProcess> {
  const args = [
    '--port',
    String(port),
    '--bind',
    host,
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    ...extraArgs,
  ];
  // Its own process group: a Ctrl-C in the terminal must not stop Redis before the services
  // that use it have drained; the owner stops it explicitly, and an exit hook covers crashes.
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start on port ${port} within ${timeoutMs} ms: ${output.trim()}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (READY_LINE.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${signal ?? code}) before it was ready: ${output.trim()}`));
    });
  });
  // Keep draining its output so a chatty server never blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}
