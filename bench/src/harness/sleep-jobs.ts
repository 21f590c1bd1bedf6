import { setTimeout as wait } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import { runConcurrently } from './run-concurrently.js';

/**
 * Empties `queue`, fills it with `jobs` no-op sleep jobs and pauses it, so that a worker started
 * afterwards finds them all at once when the queue is resumed, its start-up left out.
 */
export async function pausedSleepJobs(queue: Queue, jobs: number): Promise<void> {
  await queue.obliterate({ force: true });
  await addSleepJobs(queue, jobs);
  await queue.pause();
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
