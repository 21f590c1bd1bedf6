import { LockLostError } from './errors.js';
import type { Lock } from './held-lock.js';

/** Keeps a lease renewed; `signal` aborts with a LockLostError once it may have been lost. */
export interface LeaseKeeper {
  readonly signal: AbortSignal;
  /** Stops renewing. Idempotent. */
  stop(): void;
}

/**
 * Renews `lock` for `ttlMs` every `everyMs` until stopped. The signal aborts when Redis says the
 * lease is gone, or when the lease runs out by the local clock before a renewal got through
 * (Redis unreachable, or a renewal stuck longer than the lease): a failed renewal alone is
 * retried, since the lease may still have most of its time left.
 */
export function keepLeaseAlive(lock: Lock, ttlMs: number, everyMs: number): LeaseKeeper {
  const controller = new AbortController();
  let stopped = false;
  let renewTimer: NodeJS.Timeout | undefined;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let lastError: unknown;

  const stop = (): void => {
    stopped = true;
    clearTimeout(renewTimer);
    clearTimeout(deadlineTimer);
  };
  const lose = (reason: LockLostError): void => {
    if (stopped) return;
    stop();
    controller.abort(reason);
  };
  const armDeadline = (): void => {
    clearTimeout(deadlineTimer);
    deadlineTimer = setTimeout(
      () => lose(new LockLostError(lock.name, lock.token, lastError === undefined ? undefined : { cause: lastError })),
      Math.max(0, lock.validUntil - Date.now()),
    );
  };
  const renew = async (): Promise<void> => {
    try {
      await lock.extend(ttlMs);
      lastError = undefined;
      if (!stopped) armDeadline();
    } catch (error) {
      if (error instanceof LockLostError) return lose(error);
      lastError = error;
    }
    schedule();
  };
  const schedule = (): void => {
    if (stopped) return;
    renewTimer = setTimeout(() => void renew(), everyMs);
  };

  armDeadline();
  schedule();
  return { signal: controller.signal, stop };
}
