import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';

/** Bounds for `waitFor`. */
export interface WaitForOptions {
  /** Give up after this long; defaults to 5 s. */
  readonly timeoutMs?: number;
  /** Pause between attempts; defaults to 50 ms. */
  readonly intervalMs?: number;
  /** Names what was awaited in the timeout error. */
  readonly description?: string;
}

/**
 * Calls `fn` until it returns a truthy value and resolves with that value; rejects when
 * `timeoutMs` passes first. A throwing attempt counts as "not yet", and its error is quoted
 * in the timeout message.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, options: WaitForOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const what = options.description ?? 'condition';
      const reason = lastError instanceof Error ? lastError.message : inspect(lastError);
      const cause = lastError === undefined ? '' : `; last error: ${reason}`;
      throw new Error(`${what} not met within ${timeoutMs} ms${cause}`, { cause: lastError });
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}
