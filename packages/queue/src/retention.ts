import type { KeepJobs } from 'bullmq';

/** How long finished jobs stay readable; bounded so Redis never fills up with history. */
export interface RetentionPolicy {
  readonly completedMs: number;
  readonly failedMs: number;
  /** Upper bound on kept jobs per state and queue, whatever their age. */
  readonly count: number;
  /** Approximate length the events stream of each queue is trimmed to. */
  readonly eventsMaxLen: number;
}

export function keepCompleted(policy: RetentionPolicy): KeepJobs {
  return { age: bullmqAge(policy.completedMs), count: policy.count };
}

export function keepFailed(policy: RetentionPolicy): KeepJobs {
  return { age: bullmqAge(policy.failedMs), count: policy.count };
}

// BullMQ takes a kept job's age in whole seconds.
function bullmqAge(ms: number): number {
  return Math.ceil(ms / 1000);
}
