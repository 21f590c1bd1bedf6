/** Retry delays: exponential from `baseMs`, capped at `maxMs`, with full jitter. */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * The pause before retry number `retry` (1 for the first retry): a uniformly random time up to
 * min(maxMs, baseMs × 2^(retry-1)). Full jitter spreads the retries of many checkers that
 * failed together, so a recovering server is not hit by all of them at the same moment.
 */
export function backoffDelay(policy: BackoffPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}
