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

type StateCounts = Readonly<Record<(typeof SNAPSHOT_STATES)[number], number>>;

/** How one shard of a queue stands. */
export interface ShardSnapshot {
  /** The shard's key prefix, e.g. `{flotilla-5072}`. */
  readonly prefix: string;
  readonly counts: StateCounts;
  readonly oldestWaitingSeconds: number;
  readonly workers: number;
}

/** How a queue stands right now, fleet-wide, over all its shards. */
export interface QueueSnapshot {
  readonly name: string;
  readonly counts: StateCounts;
  /** Age of the job that has waited longest to run; 0 when none waits. The best autoscaling signal. */
  readonly oldestWaitingSeconds: number;
  /** Worker processes consuming the queue (each consumes every shard). */
  readonly workers: number;
  /** Each shard's own figures, in shard order; only for a queue spread over several. */
  readonly shards?: readonly ShardSnapshot[];
}

/**
 * Reads a queue's counts, its oldest waiting job and its workers from Redis, on every shard
 * concurrently: counts add up, the oldest waiting job is the oldest of any shard.
 */
export async function snapshotQueue(shards: readonly [Queue, ...Queue[]], now = Date.now()): Promise<QueueSnapshot> {
  const all = await Promise.all(shards.map((queue) => snapshotShard(queue, now)));
  const name = shards[0].name;
  const [only] = all;
  if (only && all.length === 1) {
    return { name, counts: only.counts, oldestWaitingSeconds: only.oldestWaitingSeconds, workers: only.workers };
  }
  const counts = Object.fromEntries(
    SNAPSHOT_STATES.map((state) => [state, all.reduce((sum, shard) => sum + shard.counts[state], 0)]),
  ) as StateCounts;
  return {
    name,
    counts,
    oldestWaitingSeconds: Math.max(...all.map((shard) => shard.oldestWaitingSeconds)),
    // A worker process runs a BullMQ worker on every shard: the busiest shard's count is the processes'.
    workers: Math.max(...all.map((shard) => shard.workers)),
    shards: all,
  };
}

async function snapshotShard(queue: Queue, now: number): Promise<ShardSnapshot> {
  const [counts, oldest, workers] = await Promise.all([
    queue.getJobCounts(...SNAPSHOT_STATES),
    // Ascending: the job that has waited longest comes first.
    queue.getJobs(['waiting'], 0, 0, true),
    queue.getWorkersCount(),
  ]);
  const first = oldest[0];
  const oldestWaitingSeconds = first ? Math.max(0, now - (first.timestamp + (first.opts.delay ?? 0))) / 1000 : 0;
  const byState = Object.fromEntries(SNAPSHOT_STATES.map((state) => [state, counts[state] ?? 0])) as StateCounts;
  return { prefix: queue.opts.prefix ?? 'bull', counts: byState, oldestWaitingSeconds, workers };
}
