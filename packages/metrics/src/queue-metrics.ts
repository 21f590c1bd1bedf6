import type { Queue } from 'bullmq';
import { SNAPSHOT_STATES, snapshotQueue, type QueueSnapshot } from '@flotilla/queue';
import { Gauge, type Registry } from 'prom-client';

// Several scrapers (or one fast one) must not turn into a storm of queue reads.
const SNAPSHOT_MAX_AGE_MS = 1000;

/**
 * Queue-wide gauges read from Redis at scrape time: `flotilla_queue_jobs{queue,state}`,
 * `flotilla_queue_oldest_waiting_seconds{queue}` and `flotilla_queue_workers{queue}`. Every
 * process that exports them reports the same fleet-wide numbers, so dashboards and alerts
 * aggregate them with `max by (queue, …)`, never `sum`.
 */
export class QueueMetrics {
  private snapshot: Promise<readonly QueueSnapshot[]> | undefined;
  private takenAt = 0;

  constructor(
    registry: Registry,
    /** Each queue's BullMQ queues, one per shard, first shard first. */
    private readonly queues: readonly (readonly [Queue, ...Queue[]])[],
  ) {
    const read = (): Promise<readonly QueueSnapshot[]> => this.read();
    new Gauge({
      name: 'flotilla_queue_jobs',
      help: 'Jobs in each state, fleet-wide (every exporter reports the same value: aggregate with max)',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        for (const queue of await read())
          for (const state of SNAPSHOT_STATES) this.set({ queue: queue.name, state }, queue.counts[state]);
      },
    });
    new Gauge({
      name: 'flotilla_queue_oldest_waiting_seconds',
      help: 'Age of the oldest job waiting to run, 0 when none waits (aggregate with max)',
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        for (const queue of await read()) this.set({ queue: queue.name }, queue.oldestWaitingSeconds);
      },
    });
    new Gauge({
      name: 'flotilla_queue_workers',
      help: 'BullMQ workers connected to the queue, fleet-wide (aggregate with max)',
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        for (const queue of await read()) this.set({ queue: queue.name }, queue.workers);
      },
    });
  }

  private read(): Promise<readonly QueueSnapshot[]> {
    const now = Date.now();
    if (!this.snapshot || now - this.takenAt > SNAPSHOT_MAX_AGE_MS) {
      this.takenAt = now;
      this.snapshot = Promise.all(this.queues.map((queue) => snapshotQueue(queue, now)));
      // A failed read must not be served to the next scrape.
      this.snapshot.catch(() => (this.takenAt = 0));
    }
    return this.snapshot;
  }
}
