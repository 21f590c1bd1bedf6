import { randomBytes } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { loadWorkerConfig } from '@flotilla/config';
import { defaultQueue, sleepJob } from '@flotilla/jobs';

/**
 * The options Flotilla's JobProducer gives a `sleep` job (retry, backoff, retention from the
 * configuration `env` describes), written out as a BullMQ user would pass them to `queue.add`,
 * and a fresh unguessable job id per call: raw BullMQ doing Flotilla's jobs.
 */
export function flotillaSleepJobOptions(env: Record<string, string | undefined>): () => JobsOptions {
  const { queue: retention } = loadWorkerConfig(env);
  const { attempts, backoff } = sleepJob.retry;
  const options = {
    attempts,
    backoff: { type: backoff.type, delay: backoff.delayMs, jitter: backoff.jitter },
    removeOnComplete: { age: retention.completedRetentionMs / 1000, count: retention.retentionCount },
    removeOnFail: { age: retention.failedRetentionMs / 1000, count: retention.retentionCount },
  };
  return () => ({ ...options, jobId: `${defaultQueue.name}.${randomBytes(16).toString('base64url')}` });
}
