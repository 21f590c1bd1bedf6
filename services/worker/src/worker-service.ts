import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'bullmq';
import type { WorkerConfig } from '@flotilla/config';
import {
  ConsumerWorker,
  DEFAULT_JOB_TIMEOUT_MS,
  ThroughputRecorder,
  consumerStall,
  createJobProcessor,
  jobTimeoutMs,
  type BoundHandler,
  type JobCatalog,
  type QueueDefinition,
  type QueueShard,
  type QueueShards,
} from '@flotilla/queue';
import type { RedisClient } from '@flotilla/redis';
import { queueTelemetry, type Logger } from '@flotilla/telemetry';

/** What the worker service is built from. */
export interface WorkerServiceDeps {
  readonly config: WorkerConfig;
  readonly catalog: JobCatalog;
  /** Where the queues live: one shard, or QUEUE_SHARDS of them. */
  readonly shards: QueueShards;
  readonly handlers: readonly BoundHandler[];
  readonly logger: Logger;
  /**
   * The process's command connection to the queue Redis (role `consumer`: it waits out
   * outages), shared by every BullMQ worker; each of them duplicates it once for its blocking fetch.
   */
  readonly connection: RedisClient;
  /** Told about each worker's blocking connection, which BullMQ opens and closes, so it is counted. */
  readonly trackBlocking?: (client: { readonly status: string; readonly isCluster: boolean }) => void;
  /** Called once per BullMQ worker started (one per queue and shard), e.g. to count its jobs in metrics. */
  readonly observe?: (worker: Worker, queue: string, shard: number) => void;
}

/** The running BullMQ workers of one process. */
export interface WorkerService {
  readonly queues: readonly string[];
  /** True while every queue's worker is consuming. */
  isRunning(): boolean;
  /**
   * Why consumer loops count as stopped (empty while all work); ask only while Redis is
   * reachable. Nothing is reported once `stop` has begun. Silence until `excusedUntil` (the end
   * of a heap snapshot's pause, epoch ms) does not count.
   */
  stalls(excusedUntil?: number): string[];
  /**
   * Stops taking jobs and lets in-flight ones finish until `deadline`; jobs still running then
   * are abandoned to BullMQ's stalled-job recovery, which hands them to another worker.
   */
  stop(deadline: number): Promise<void>;
}

const SANDBOXED_PROCESSOR = fileURLToPath(new URL('./sandboxed-processor.js', import.meta.url));

/**
 * Starts one BullMQ worker per consumed queue and shard. A sharded queue's concurrency and rate
 * limit are split over its shards, so a process runs about as many of its jobs at once as
 * unsharded, and the fleet never starts more than the limit.
 */
export function createWorkerService(deps: WorkerServiceDeps): WorkerService {
  const { config, catalog, logger } = deps;
  const queues = config.worker.queues ?? catalog.queues.map((q) => q.name);
  for (const name of queues) {
    if (!catalog.queue(name)) throw new Error(`WORKER_QUEUES names "${name}", which is not a declared queue`);
  }
  // Fails at start-up when a consumed job type has no handler.
  const inline = createJobProcessor(catalog, queues, deps.handlers);
  const timeoutOf = (type: string): number => {
    const contract = catalog.contract(type);
    return contract ? jobTimeoutMs(contract) : DEFAULT_JOB_TIMEOUT_MS;
  };
  let stopping = false;
  // Fleet-wide jobs finished per minute: the throughput the dashboard and CLI show.
  const { connection } = deps;
  const throughput = new ThroughputRecorder(connection, config.queue.prefix, {
    onError: (error) =>
      logger.warn({ err: error.message }, 'writing the throughput counts failed; they are kept for the next write'),
  });

  const { shards } = deps;
  const perShard = (n: number): number => Math.max(1, Math.floor(n / shards.count));
  const workers = queues.flatMap((name) => {
    const definition = catalog.queue(name);
    if (!definition) throw new Error(`queue "${name}" is not declared`);
    return shards.all.map((shard) => startWorker(name, definition, shard));
  });

  function startWorker(name: string, definition: QueueDefinition, shard: QueueShard): ConsumerWorker {
    const options = {
      // Stored on every job this worker processes (processedBy), so an operator can tell which process ran it.
      name: `${hostname()}:${process.pid}`,
      connection,
      prefix: shard.prefix,
      concurrency: Math.max(1, Math.ceil(definition.concurrency / shards.count)),
      lockDuration: config.worker.lockDurationMs,
      stalledInterval: config.worker.stalledIntervalMs,
      maxStalledCount: config.worker.maxStalledCount,
      timeoutOf,
      ...(definition.rateLimit
        ? { limiter: { max: perShard(definition.rateLimit.max), duration: definition.rateLimit.durationMs } }
        : {}),
      // When tracing is on, each job is processed in a span continuing the trace that enqueued it.
      ...queueTelemetry(),
    };
    const worker =
      definition.processor === 'sandboxed' && config.worker.threads
        ? new ConsumerWorker(name, SANDBOXED_PROCESSOR, { ...options, useWorkerThreads: true })
        : new ConsumerWorker(name, inline, options);
    void worker
      .getBackend()
      .blockingClient?.then((client) => deps.trackBlocking?.(client))
      .catch(() => undefined);
    worker.on('error', (error) => logger.error({ err: error, queue: name }, 'worker error'));
    throughput.observe(worker, name);
    worker.on('failed', (job, error) =>
      logger.warn(
        { queue: name, jobId: job?.id, type: job?.name, attemptsMade: job?.attemptsMade, err: error.message },
        'job attempt failed',
      ),
    );
    worker.on('completed', (job) => logger.debug({ queue: name, jobId: job.id, type: job.name }, 'job completed'));
    worker.on('stalled', (jobId) => logger.warn({ queue: name, jobId }, 'job stalled; it will be retried'));
    deps.observe?.(worker, name, shard.index);
    return worker;
  }
  // Silence while Redis is away says nothing about the loops: every reconnection attempt, and
  // the connection becoming ready again, restarts their clocks.
  for (const event of ['reconnecting', 'ready'])
    connection.on(event, () => workers.forEach((w) => w.noteConnectionChange()));
  logger.info({ queues }, 'consuming queues');

  return {
    queues,
    isRunning: () => workers.every((w) => w.isRunning()),
    stalls: (excusedUntil) => {
      if (stopping) return [];
      const now = Date.now();
      return workers.flatMap((w) => consumerStall(w, config.worker.livenessTimeoutMs, now, excusedUntil) ?? []);
    },
    async stop(deadline) {
      stopping = true;
      const graceful = Promise.all(workers.map((w) => w.close()));
      const remaining = Math.max(0, deadline - Date.now());
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), remaining))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        logger.warn('jobs still running at the shutdown deadline; leaving them to stalled-job recovery');
        await Promise.all(workers.map((w) => w.close(true)));
      }
      await throughput.stop();
    },
  };
}
