import type { Job, JobProgress } from 'bullmq';

/** States a job can be in, as the API reports them. */
export type JobStateName =
  'waiting' | 'prioritized' | 'waiting-children' | 'delayed' | 'active' | 'completed' | 'failed' | 'unknown';

/** A job as clients see it: JSON-safe, no internals, no stack traces. */
export interface JobView {
  readonly id: string;
  readonly type: string;
  readonly queue: string;
  readonly state: JobStateName;
  readonly progress: JobProgress;
  readonly attemptsMade: number;
  readonly maxAttempts: number;
  readonly result?: unknown;
  readonly error?: string;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
}

const FINISHED: ReadonlySet<JobStateName> = new Set(['completed', 'failed']);

/** True for states a job never leaves. */
export function isFinished(state: JobStateName): boolean {
  return FINISHED.has(state);
}

function iso(ms: number | undefined): string | undefined {
  return ms ? new Date(ms).toISOString() : undefined;
}

/** Builds the public view of a job in a known state. */
export function toJobView(job: Job, state: JobStateName): JobView {
  const startedAt = iso(job.processedOn);
  const finishedAt = iso(job.finishedOn);
  return {
    id: job.id ?? '',
    type: job.name,
    queue: job.queueName,
    state,
    progress: job.progress,
    attemptsMade: job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    ...(state === 'completed' ? { result: job.returnvalue as unknown } : {}),
    // A job that succeeded on a retry keeps its last failure reason in Redis; it is no longer news.
    ...(job.failedReason && state !== 'completed' ? { error: job.failedReason } : {}),
    createdAt: new Date(job.timestamp).toISOString(),
    ...(startedAt ? { startedAt } : {}),
    ...(finishedAt ? { finishedAt } : {}),
  };
}
