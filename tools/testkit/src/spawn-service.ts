import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@flotilla/local-redis';
import { httpStatus } from './http-status.js';
import { LineLog } from './line-log.js';

/** How to start a service process for a test. */
export interface SpawnServiceOptions {
  /** Script run with the test's own Node binary (`process.execPath`). */
  readonly entry: string;
  /**
   * Variables set on top of `process.env`; `undefined` removes one. Redis URLs inherited from
   * the parent are dropped first, so only the ones given here reach the service.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Value of PORT; a free port is picked when omitted. */
  readonly port?: number;
  /** Path that answers 200 once the service is ready; defaults to `/readyz`. */
  readonly readyPath?: string;
  /** How long to wait for readiness before killing the process; defaults to 20 s. */
  readonly readyTimeoutMs?: number;
  /** Working directory; defaults to the test's. */
  readonly cwd?: string;
  /** A command the Node process runs under, e.g. `['valgrind', '--tool=callgrind']`. */
  readonly wrapper?: readonly string[];
  /** Options for Node itself, before the entry: e.g. V8 flags, which NODE_OPTIONS refuses. */
  readonly nodeArgs?: readonly string[];
}

/** How a service process ended: an exit code, or the signal that killed it. */
export interface ServiceExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running service process that answered its readiness probe. */
export interface ServiceHandle {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly pid: number;
  /** Settles once the process has exited and its output is fully collected. */
  readonly exited: Promise<ServiceExit>;
  /** The process's recent stdout and stderr (last 2000 lines), interleaved as written. */
  logs(): string;
  /** Sends a signal without waiting, e.g. to observe a graceful shutdown in progress. */
  signal(signal: NodeJS.Signals): void;
  /** Sends a signal (SIGKILL by default) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<ServiceExit>;
  /** SIGTERM, then SIGKILL if the process is still running after `timeoutMs` (default 10 s). */
  stop(timeoutMs?: number): Promise<ServiceExit>;
}

// A test must never reach a Redis it did not ask for, such as the developer's own.
const INHERITED_REDIS_VARIABLES = ['REDIS_URL', 'REDIS_TLS_URL', 'QUEUE_REDIS_URL', 'CACHE_REDIS_URL'];
const LOG_TAIL_LINES = 40;
const PROBE_INTERVAL_MS = 50;

// Children still running when the test process exits (a test failed before stopping them)
// would outlive the run and keep ports and Redis connections busy.
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killOnExit(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const orphan of running) orphan.kill('SIGKILL');
    });
  }
  running.add(child);
}

// The parent's environment minus its Redis URLs, plus `overrides`.
function serviceEnv(
  overrides: Readonly<Record<string, string | undefined>>,
  parent: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && !INHERITED_REDIS_VARIABLES.includes(name)) env[name] = value;
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/**
 * Starts `node <entry>` on a port of its own and resolves once `readyPath` answers 200. If it
 * exits or stays unready past the timeout, the process is killed and the error quotes the
 * tail of its output.
 */
export async function spawnService(options: SpawnServiceOptions): Promise<ServiceHandle> {
  const port = options.port ?? (await freePort());
  const readyPath = options.readyPath ?? '/readyz';
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  const url = `http://127.0.0.1:${port}`;
  const log = new LineLog();

  const [command = process.execPath, ...args] = [
    ...(options.wrapper ?? []),
    process.execPath,
    ...(options.nodeArgs ?? []),
    options.entry,
  ];
  const child = spawn(command, args, {
    cwd: options.cwd ?? process.cwd(),
    env: serviceEnv({ ...options.env, PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => log.append(chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => log.append(chunk));
  const pid = child.pid;
  const exited = new Promise<ServiceExit>((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  if (pid === undefined) {
    const error = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new Error(`could not start ${options.entry}: ${error.message}`, { cause: error });
  }
  // Later errors (a failed kill, say) are reported through `exited` and the log, not thrown.
  child.on('error', (error) => log.push(`[testkit] ${error.message}`));
  killOnExit(child);

  const hasExited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<ServiceExit> => {
    if (!hasExited()) child.kill(signal);
    return await exited;
  };
  const handle: ServiceHandle = {
    port,
    url,
    pid,
    exited,
    logs: () => log.tail(),
    signal: (signal) => {
      child.kill(signal);
    },
    kill,
    async stop(timeoutMs = 10_000) {
      if (hasExited()) return await exited;
      child.kill('SIGTERM');
      const cancelTimer = new AbortController();
      const timedOut = sleep(timeoutMs, 'timeout' as const, { signal: cancelTimer.signal }).catch(
        () => 'cancelled' as const,
      );
      const outcome = await Promise.race([exited, timedOut]);
      cancelTimer.abort();
      if (typeof outcome === 'object') return outcome;
      log.push(`[testkit] still running ${timeoutMs} ms after SIGTERM; sending SIGKILL`);
      return await kill('SIGKILL');
    },
  };

  const failure = await waitUntilReady(`${url}${readyPath}`, readyTimeoutMs, hasExited);
  if (failure) {
    await kill('SIGKILL');
    throw new Error(
      `${options.entry} ${failure}\n--- last ${LOG_TAIL_LINES} lines of its output ---\n${log.tail(LOG_TAIL_LINES)}`,
    );
  }
  return handle;
}

// Resolves with a reason when the service will not become ready, undefined when it is.
async function waitUntilReady(
  readyUrl: string,
  timeoutMs: number,
  hasExited: () => boolean,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let lastStatus: number | undefined;
  for (;;) {
    if (hasExited()) return `exited before ${readyUrl} answered 200`;
    lastStatus = await httpStatus(readyUrl);
    if (lastStatus === 200) return undefined;
    if (Date.now() >= deadline) {
      const got = lastStatus === undefined ? 'no answer' : `last status ${lastStatus}`;
      return `was not ready within ${timeoutMs} ms (${readyUrl}: ${got})`;
    }
    await sleep(PROBE_INTERVAL_MS);
  }
}
