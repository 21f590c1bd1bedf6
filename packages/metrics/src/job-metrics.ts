import type { Job, Worker } from 'bullmq';
import { isFinalFailure } from '@flotilla/queue';
import { Counter, Histogram, type Registry } from 'prom-client';

// Jobs take from milliseconds (a cache refresh) to minutes (a long computation).
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

/**
 * What this worker process did with jobs: `flotilla_jobs_total{queue,shard,type,status}`
 * (completed, failed, or retried when another attempt follows; `queue` is the logical queue,
 * `shard` its shard's index, 0 when unsharded), `flotilla_job_duration_seconds` (one
 * attempt's processing time) and `flotilla_job_wait_seconds` (from when the job could first
 * run to when an attempt started).
 */
export class JobMetrics {
  private readonly jobs: Counter<'queue' | 'shard' | 'type' | 'status'>;
  private readonly duration: Histogram<'queue' | 'type'>;
  private readonly wait: Histogram<'queue' | 'type'>;

  constructor(registry: Registry) {
    this.jobs = new Counter({
      name: 'flotilla_jobs_total',
      help: 'Job attempts finished by this process, by outcome',
      labelNames: ['queue', 'shard', 'type', 'status'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'flotilla_job_duration_seconds',
      help: 'Processing time of one job attempt',
      labelNames: ['queue', 'type'],
      buckets: BUCKETS,
      registers: [registry],
    });
    this.wait = new Histogram({
      name: 'flotilla_job_wait_seconds',
      help: 'Time a job waited, from when it could run (after any delay) to the start of its attempt',
      labelNames: ['queue', 'type'],
      buckets: BUCKETS,
      registers: [registry],
    });
  }

  /** Counts the jobs of one BullMQ worker from its local events (only this process's work). */
  observe(worker: Worker, queue: string, shard = 0): void {
    worker.on('active', (job) => {
      const startedAt = job.processedOn ?? Date.now();
      const readyAt = job.timestamp + (job.opts.delay ?? 0);
      // Retries wait out their backoff before becoming ready; only the first attempt's wait is a queue wait.
      if (job.attemptsMade === 0) this.wait.observe({ queue, type: job.name }, Math.max(0, startedAt - readyAt) / 1000);
    });
    const shardLabel = String(shard);
    worker.on('completed', (job) => this.finished(queue, shardLabel, job, 'completed'));
    worker.on('failed', (job) => {
      if (job) this.finished(queue, shardLabel, job, isFinalFailure(job) ? 'failed' : 'retried');
    });
  }

  private finished(queue: string, shard: string, job: Job, status: 'completed' | 'failed' | 'retried'): void {
    this.jobs.inc({ queue, shard, type: job.name, status });
    if (job.processedOn)
      this.duration.observe(
        { queue, type: job.name },
        Math.max(0, (job.finishedOn ?? Date.now()) - job.processedOn) / 1000,
      );
  }
}
