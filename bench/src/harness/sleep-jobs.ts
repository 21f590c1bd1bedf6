import { setTimeout as wait } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import { runConcurrently } from './run-concurrently.js';

/**
 * Pauses `queue` and adds `jobs` no-op sleep jobs, so that a worker, running or started later,
 * finds them all at once when the queue is resumed, as under a backlog.
 */
export async function pausedSleepJobs(queue: Queue, jobs: number): Promise<void> {
  await queue.pause();
  await addSleepJobs(queue, jobs);
}

/** Adds `jobs` no-op sleep jobs, enqueued without a trace, removed once completed. */
export async function addSleepJobs(queue: Queue, jobs: number): Promise<void> {
  await runConcurrently(jobs, 32, () => queue.add('sleep', { ms: 0, steps: 1 }, { removeOnComplete: true }));
}

/** Resolves once `queue` has no job waiting or active, polling every `intervalMs`. */
export async function drained(queue: Queue, intervalMs: number): Promise<void> {
  for (;;) {
    const counts = await queue.getJobCounts('waiting', 'active');
    if ((counts['waiting'] ?? 0) + (counts['active'] ?? 0) === 0) return;
    await wait(intervalMs);
  }
}
