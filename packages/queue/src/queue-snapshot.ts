import type { Queue } from 'bullmq';

/** The states a queue snapshot counts. */
export const SNAPSHOT_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'failed',
  'completed',
] as const;

/** How a queue stands right now, fleet-wide. */
export interface QueueSnapshot {
  readonly name: string;
  readonly counts: Readonly<Record<(typeof SNAPSHOT_STATES)[number], number>>;
  /** Age of the job that has waited longest to run; 0 when none waits. The best autoscaling signal. */
  readonly oldestWaitingSeconds: number;
  /** BullMQ workers connected to the queue. */
  readonly workers: number;
}

/** Reads a queue's counts, its oldest waiting job and its workers from Redis, concurrently. */
export async function snapshotQueue(queue: Queue, now = Date.now()): Promise<QueueSnapshot> {
  const [counts, oldest, workers] = await Promise.all([
    queue.getJobCounts(...SNAPSHOT_STATES),
    // Ascending: the job that has waited longest comes first.
    queue.getJobs(['waiting'], 0, 0, true),
    queue.getWorkersCount(),
  ]);
  const first = oldest[0];
  const oldestWaitingSeconds = first ? Math.max(0, now - (first.timestamp + (first.opts.delay ?? 0))) / 1000 : 0;
  const byState = Object.fromEntries(
    SNAPSHOT_STATES.map((state) => [state, counts[state] ?? 0]),
  ) as QueueSnapshot['counts'];
  return { name: queue.name, counts: byState, oldestWaitingSeconds, workers };
}
