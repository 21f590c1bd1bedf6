import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

/** How a child process ended: an exit code, or the signal that killed it. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Options for `startChild`. */
export interface ChildOptions {
  /** Short name used as the output prefix, e.g. `web`. */
  readonly name: string;
  /** Script run with this process's own Node binary. */
  readonly entry: string;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Receives every line the child writes to stdout or stderr, already prefixed. */
  readonly output: (line: string) => void;
}

/** A service process started by the launcher. */
export interface ChildService {
  readonly name: string;
  readonly pid: number | undefined;
  /** Settles once the process has exited and all its output was passed on. */
  readonly exited: Promise<ChildExit>;
  /** True until the process has exited. */
  isRunning(): boolean;
  /** SIGTERM, then SIGKILL if it is still running after `timeoutMs`; resolves on exit. */
  stop(timeoutMs: number): Promise<ChildExit>;
}

/** Starts `node <entry>` with its output passed on line by line as `<name> | <line>`. */
export function startChild(options: ChildOptions): ChildService {
  const child = spawn(process.execPath, [options.entry], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a Ctrl-C in the terminal reaches only the launcher, which then
    // stops the services in order, the way a platform would (SIGTERM, grace period, SIGKILL).
    detached: true,
  });
  const prefix = `${options.name} | `;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => options.output(prefix + line));
  }
  const exited = new Promise<ChildExit>((resolve) => {
    // A failed spawn emits 'error' and may never emit 'close'.
    child.once('error', (error) => {
      options.output(`${prefix}could not start: ${error.message}`);
      resolve({ code: null, signal: null });
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null && child.pid !== undefined;
  return {
    name: options.name,
    pid: child.pid,
    exited,
    isRunning: running,
    async stop(timeoutMs) {
      if (!running()) return await exited;
      child.kill('SIGTERM');
      const cancelTimer = new AbortController();
      const timedOut = sleep(timeoutMs, 'timeout' as const, { signal: cancelTimer.signal }).catch(
        () => 'cancelled' as const,
      );
      const outcome = await Promise.race([exited, timedOut]);
      cancelTimer.abort();
      if (typeof outcome === 'object') return outcome;
      options.output(`${prefix}still running ${timeoutMs} ms after SIGTERM; sending SIGKILL`);
      child.kill('SIGKILL');
      return await exited;
    },
  };
}
