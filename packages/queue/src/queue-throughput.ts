import type { Queue } from 'bullmq';
import { snapshotQueue, type QueueSnapshot } from './queue-snapshot.js';

/** Jobs finished per minute, oldest minute first, the last entry being the current (partial) minute. */
export interface QueueThroughput {
  readonly completed: readonly number[];
  readonly failed: readonly number[];
}

const MINUTE_MS = 60_000;

/**
 * Lays BullMQ's per-minute metrics (recorded by workers started with the `metrics` option) on
 * the last `minutes` minutes up to `now`. BullMQ writes a minute's count only when the next job
 * after it finishes, so the series is anchored on its last recorded timestamp, not on `now`.
 */
async function perMinute(queue: Queue, type: 'completed' | 'failed', minutes: number, now: number): Promise<number[]> {
  const { meta, data } = await queue.getMetrics(type, 0, minutes - 1);
  const series = new Array<number>(minutes).fill(0);
  if (!meta.prevTS) return series;
  const nowMinute = Math.floor(now / MINUTE_MS);
  const lastMinute = Math.floor(meta.prevTS / MINUTE_MS);
  const place = (minute: number, count: number): void => {
    const index = minutes - 1 - (nowMinute - minute);
    if (index >= 0 && index < minutes) series[index] = (series[index] ?? 0) + count;
  };
  // The minute of the last finished job is still open: its count is the total since it began.
  place(lastMinute, meta.count - meta.prevCount);
  data.forEach((count, i) => place(lastMinute - 1 - i, count));
  return series;
}

/** Completed and failed jobs per minute over the last `minutes` minutes, fleet-wide. */
export async function readQueueThroughput(queue: Queue, minutes: number, now = Date.now()): Promise<QueueThroughput> {
  const [completed, failed] = await Promise.all([perMinute(queue, 'completed', minutes, now), perMinute(queue, 'failed', minutes, now)]);
  return { completed, failed };
}

/** A queue's snapshot with its jobs finished per minute, as operators look at a queue. */
export interface QueueOverview extends QueueSnapshot {
  readonly throughput: QueueThroughput;
}

/** Reads a queue's snapshot and its throughput over the last `minutes` minutes, concurrently. */
export async function readQueueOverview(queue: Queue, minutes: number, now = Date.now()): Promise<QueueOverview> {
  const [snapshot, throughput] = await Promise.all([snapshotQueue(queue, now), readQueueThroughput(queue, minutes, now)]);
  return { ...snapshot, throughput };
}
