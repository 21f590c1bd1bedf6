import type { KeepJobs } from 'bullmq';

/** How long finished jobs stay readable; bounded so Redis never fills up with history. */
export interface RetentionPolicy {
  readonly completedSeconds: number;
  readonly failedSeconds: number;
  /** Upper bound on kept jobs per state and queue, whatever their age. */
  readonly count: number;
  /** Approximate length the events stream of each queue is trimmed to. */
  readonly eventsMaxLen: number;
}

export function keepCompleted(policy: RetentionPolicy): KeepJobs {
  return { age: policy.completedSeconds, count: policy.count };
}

export function keepFailed(policy: RetentionPolicy): KeepJobs {
  return { age: policy.failedSeconds, count: policy.count };
}
