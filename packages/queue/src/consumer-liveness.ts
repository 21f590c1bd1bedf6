import type { ConsumerWorker } from './consumer-worker.js';

/**
 * Why a consumer loop counts as stopped, or undefined while it works: its loop is not running
 * (it ended or the worker closed outside a shutdown), or it has room for jobs yet has not heard
 * from Redis for longer than `timeoutMs`. The caller asks only while Redis is reachable: during
 * an outage silence is expected, and restarting the process would not help. Silence until
 * `excusedUntil` (epoch ms) does not count.
 */
export function consumerStall(
  worker: ConsumerWorker,
  timeoutMs: number,
  now = Date.now(),
  excusedUntil = 0,
): string | undefined {
  if (!worker.isRunning()) return `the consumer loop of queue "${worker.name}" is not running`;
  // Every slot busy: the loop rightly waits for a job to finish before it fetches again.
  if (worker.inFlight >= worker.concurrency) return undefined;
  // A pause the process took on purpose (a heap snapshot) explains the silence during it.
  const silentMs = now - Math.max(worker.lastAnswerAt, excusedUntil);
  if (silentMs <= timeoutMs) return undefined;
  return `the consumer loop of queue "${worker.name}" has had no answer from Redis for ${Math.round(silentMs / 1000)} s`;
}
