import type { Job } from 'bullmq';
import type { JobProducer } from './job-producer.js';
import { toJobView, type JobView } from './job-view.js';
import type { SNAPSHOT_STATES } from './queue-snapshot.js';

/** A state jobs can be listed in: the states a queue snapshot counts. */
export type ListableState = (typeof SNAPSHOT_STATES)[number];

/** One page of a queue's jobs in one state. */
export interface JobPage {
  readonly queue: string;
  readonly state: ListableState;
  /** How many jobs are in that state altogether. */
  readonly total: number;
  readonly jobs: readonly JobView[];
}

/** What `retry` found. */
export type RetryOutcome =
  { readonly outcome: 'retried'; readonly job: JobView } | { readonly outcome: 'not-failed' | 'not-found' };

/**
 * The operator's side of the queues: list jobs by state, retry failed ones. Reads and writes
 * through the producer's queues, so it opens no connection of its own.
 */
export class JobAdmin {
  constructor(private readonly producer: JobProducer) {}

  /**
   * Jobs of a declared queue in one state, newest first; undefined for an undeclared queue. On
   * a sharded queue each shard's newest `offset + limit` are merged by creation time.
   */
  async list(queueName: string, state: ListableState, offset: number, limit: number): Promise<JobPage | undefined> {
    if (!this.producer.hasQueue(queueName)) return undefined;
    const shards = this.producer.shardsOf(queueName);
    const [totals, pages] = await Promise.all([
      Promise.all(shards.map((queue) => queue.getJobCountByTypes(state))),
      Promise.all(
        shards.length === 1
          ? [shards[0].getJobs([state], offset, offset + limit - 1)]
          : shards.map((queue) => queue.getJobs([state], 0, offset + limit - 1)),
      ),
    ]);
    // A job can finish or be removed between the two reads; the list shows what is still there.
    const present = pages.flat().filter((job): job is Job => Boolean(job));
    const jobs =
      shards.length === 1 ? present : present.sort((a, b) => b.timestamp - a.timestamp).slice(offset, offset + limit);
    return {
      queue: queueName,
      state,
      total: totals.reduce((sum, n) => sum + n, 0),
      jobs: jobs.map((job) => toJobView(job, state)),
    };
  }

  /** Moves a failed job back to waiting, with its attempts counted afresh. */
  async retry(id: string): Promise<RetryOutcome> {
    const job = await this.producer.jobById(id);
    if (!job) return { outcome: 'not-found' };
    if ((await job.getState()) !== 'failed') return { outcome: 'not-failed' };
    try {
      await job.retry('failed');
    } catch (error) {
      // Another operator's retry (or a removal) got there first.
      if ((await job.getState()) !== 'failed') return { outcome: 'not-failed' };
      throw error;
    }
    return { outcome: 'retried', job: toJobView(job, await job.getState()) };
  }

  /** Moves every failed job of a declared queue back to waiting; resolves with how many there were. */
  async retryAllFailed(queueName: string): Promise<number | undefined> {
    if (!this.producer.hasQueue(queueName)) return undefined;
    const retried = await Promise.all(
      this.producer.shardsOf(queueName).map(async (queue) => {
        const failed = await queue.getFailedCount();
        await queue.retryJobs({ state: 'failed' });
        return failed;
      }),
    );
    return retried.reduce((sum, n) => sum + n, 0);
  }
}
