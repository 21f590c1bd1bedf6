import { setTimeout as sleep } from 'node:timers/promises';
import { httpStatus } from './http-status.js';

const PROBE_INTERVAL_MS = 100;

/**
 * Polls every URL until each has answered 200 once, `timeoutMs` passes, or `signal` aborts.
 * Resolves with the URLs that have not answered 200 (none when all are ready); never rejects.
 */
export async function waitUntilReady(
  urls: readonly string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let pending = [...urls];
  while (pending.length > 0 && !signal.aborted) {
    const statuses = await Promise.all(pending.map(async (url) => await httpStatus(url)));
    pending = pending.filter((_, index) => statuses[index] !== 200);
    if (pending.length === 0 || Date.now() >= deadline) break;
    await sleep(PROBE_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
  }
  return pending;
}
