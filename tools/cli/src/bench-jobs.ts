import { performance } from 'node:perf_hooks';
import { callApi, type ApiTarget } from './api-client.js';
import { percentile } from './percentile.js';

/** What `flotilla bench` submits and how hard. */
export interface JobBenchOptions {
  readonly type: string;
  readonly input: unknown;
  readonly count: number;
  readonly concurrency: number;
  /** Seconds to wait for each job to finish once all are submitted. */
  readonly waitSeconds: number;
}

/** What a job bench measured against a running deployment. */
export interface JobBenchReport {
  readonly type: string;
  readonly count: number;
  readonly concurrency: number;
  readonly submitSeconds: number;
  readonly submitsPerSecond: number;
  readonly submitLatencyMs: { readonly p50: number; readonly p99: number };
  readonly completed: number;
  readonly failed: number;
  readonly unfinished: number;
  /** Completed jobs per second, from the first job's creation to the last one's end. */
  readonly jobsPerSecond: number;
  /** Creation to end of each completed job, as the queue recorded it. */
  readonly endToEndMs: { readonly p50: number; readonly p99: number };
}

interface FinishedJob {
  readonly state: string;
  readonly createdAt: string;
  readonly finishedAt?: string;
}

/** Runs `work(i)` for i in 0..count-1 with at most `concurrency` at a time. */
async function pool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}

/**
 * Loads a running deployment through its public API: submits `count` jobs from `concurrency`
 * concurrent clients, then long-polls each until it ends, and reports submission and
 * processing rates with their latencies. A refused submission stops the run (ApiError).
 */
export async function benchJobs(target: ApiTarget, options: JobBenchOptions): Promise<JobBenchReport> {
  const ids: string[] = [];
  const submitLatency: number[] = [];
  const started = performance.now();
  await pool(options.count, options.concurrency, async () => {
    const t0 = performance.now();
    const { id } = await callApi<{ id: string }>(
      target,
      'POST',
      `/api/jobs/${encodeURIComponent(options.type)}`,
      options.input,
    );
    submitLatency.push(performance.now() - t0);
    ids.push(id);
  });
  const submitSeconds = (performance.now() - started) / 1000;

  const jobs: FinishedJob[] = [];
  await pool(ids.length, options.concurrency, async (i) => {
    jobs.push(
      await callApi<FinishedJob>(
        target,
        'GET',
        `/api/jobs/${encodeURIComponent(ids[i] ?? '')}?wait=${options.waitSeconds}`,
      ),
    );
  });
  const completed = jobs.filter((j) => j.state === 'completed' && j.finishedAt);
  const endToEnd = completed.map((j) => Date.parse(j.finishedAt ?? '') - Date.parse(j.createdAt));
  const firstCreated = Math.min(...completed.map((j) => Date.parse(j.createdAt)));
  const lastFinished = Math.max(...completed.map((j) => Date.parse(j.finishedAt ?? '')));
  const span = (lastFinished - firstCreated) / 1000;
  return {
    type: options.type,
    count: options.count,
    concurrency: options.concurrency,
    submitSeconds,
    submitsPerSecond: options.count / submitSeconds,
    submitLatencyMs: { p50: percentile(submitLatency, 50), p99: percentile(submitLatency, 99) },
    completed: completed.length,
    failed: jobs.filter((j) => j.state === 'failed').length,
    unfinished: jobs.filter((j) => j.state !== 'completed' && j.state !== 'failed').length,
    jobsPerSecond: completed.length === 0 ? 0 : completed.length / Math.max(span, 0.001),
    endToEndMs: { p50: percentile(endToEnd, 50), p99: percentile(endToEnd, 99) },
  };
}
