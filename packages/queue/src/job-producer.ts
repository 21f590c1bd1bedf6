import { isDeepStrictEqual } from 'node:util';
import { FlowProducer, Job, Queue, type FlowJob, type JobsOptions } from 'bullmq';
import type { RedisClient, RedisMemoryGauge } from '@flotilla/redis';
import { queueTelemetry } from '@flotilla/telemetry';
import { IdempotencyConflictError, JobInputError, QueueFullError, UnknownJobTypeError } from './errors.js';
import type { JobCatalog } from './job-catalog.js';
import type { AnyJobContract } from './job-contract.js';
import { childJobId, idempotentJobId, newJobId, parseJobId } from './job-ids.js';
import { isFinished, toJobView, type JobStateName, type JobView } from './job-view.js';
import { QueueShards, type QueueShard } from './queue-shards.js';
import { keepCompleted, keepFailed, type RetentionPolicy } from './retention.js';

/** Options of a job producer. */
export interface JobProducerOptions {
  readonly catalog: JobCatalog;
  /** A fail-fast (producer role) connection; it is shared by every queue and not closed here. */
  readonly connection: RedisClient;
  readonly prefix: string;
  /** How many shards each queue is spread over (QUEUE_SHARDS); 1 when left out. */
  readonly shards?: number | undefined;
  readonly retention: RetentionPolicy;
  /** Key for deriving job ids from idempotency keys. */
  readonly idempotencySecret: string;
  /**
   * When set, `enqueue` resolves only once its writes are on disk (DURABLE_SUBMISSIONS). It
   * must watch `connection`, the one the jobs are written on: that is what WAITAOF covers.
   */
  readonly durability?: { write<T>(run: () => Promise<T>): Promise<T> } | undefined;
  /**
   * Refuse new jobs once Redis uses this share of its maxmemory. Under noeviction a Redis at
   * its limit refuses every write, also the ones a worker needs to record a finished job, so
   * submissions stop first and leave the headroom to the workers that drain the queue.
   */
  readonly memoryLimit?: { readonly gauge: RedisMemoryGauge; readonly maxRatio: number } | undefined;
}

/** Per-request options of `enqueue`. */
export interface EnqueueOptions {
  readonly idempotencyKey?: string | undefined;
  readonly delayMs?: number | undefined;
}

/** What `enqueue` did. */
export interface EnqueueResult {
  readonly id: string;
  readonly state: JobStateName;
  /** False when an earlier request with the same idempotency key created the job. */
  readonly created: boolean;
}

/** What `cancel` found. */
export type CancelOutcome = 'cancelled' | 'active' | 'finished' | 'not-found';

/**
 * Enqueues declared job types with validated input and reads jobs back. The web uses it; it
 * holds one BullMQ Queue per declared queue and shard over a single shared connection, so a
 * request never opens a connection of its own. A job goes to one shard (with its flow's
 * children), picked by its idempotency or de-duplication key when it has one, in turn
 * otherwise; its id names the shard.
 */
export class JobProducer {
  readonly shards: QueueShards;
  // Per declared queue, its BullMQ queue on each shard, in shard order.
  private readonly queues = new Map<string, readonly [Queue, ...Queue[]]>();
  private readonly flows: readonly FlowProducer[];

  constructor(private readonly options: JobProducerOptions) {
    const { connection, prefix, retention } = options;
    this.shards = new QueueShards(prefix, options.shards ?? 1);
    // When tracing is on, each enqueue opens a producer span whose context travels with the job.
    const telemetry = queueTelemetry();
    for (const definition of options.catalog.queues) {
      this.queues.set(
        definition.name,
        this.shards.map(
          (shard) =>
            new Queue(definition.name, {
              connection,
              prefix: shard.prefix,
              streams: { events: { maxLen: retention.eventsMaxLen } },
              ...telemetry,
            }),
        ),
      );
    }
    this.flows = this.shards.all.map((shard) => new FlowProducer({ connection, prefix: shard.prefix, ...telemetry }));
  }

  /** Whether `name` is a declared queue. */
  hasQueue(name: string): boolean {
    return this.queues.has(name);
  }

  /** The BullMQ queues behind a declared queue name, one per shard in shard order. */
  shardsOf(name: string): readonly [Queue, ...Queue[]] {
    const queues = this.queues.get(name);
    if (!queues) throw new Error(`queue "${name}" is not declared`);
    return queues;
  }

  /** The BullMQ queue of a declared queue on its first shard (its only one when unsharded). */
  queue(name: string): Queue {
    return this.shardsOf(name)[0];
  }

  /**
   * Validates `input` against the job type's schema and enqueues it. Throws before touching
   * Redis when the type is unknown or the input invalid, so a bad request enqueues nothing.
   */
  async enqueue(type: string, input: unknown, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    const { durability } = this.options;
    // Also for a replayed idempotency key: the first answer may have been lost with the write.
    return durability
      ? await durability.write(() => this.add(type, input, options))
      : await this.add(type, input, options);
  }

  private async add(type: string, input: unknown, options: EnqueueOptions): Promise<EnqueueResult> {
    const contract = this.options.catalog.contract(type);
    if (!contract) throw new UnknownJobTypeError(type);
    const parsed = contract.input.safeParse(input);
    if (!parsed.success) throw new JobInputError(type, parsed.error.issues);
    const { memoryLimit } = this.options;
    const used = memoryLimit?.gauge.ratio;
    if (memoryLimit && used !== undefined && used >= memoryLimit.maxRatio) throw new QueueFullError(used);
    const data: unknown = parsed.data;
    const key = options.idempotencyKey;
    const deduplicationId = contract.deduplicationKey ? `${type}:${contract.deduplicationKey(data)}` : undefined;
    // A keyed job must be found again where it was first written: its shard follows from the key.
    const shard = this.shards.pick(key === undefined ? deduplicationId : `${type}\0${key}`);
    const id =
      key === undefined
        ? newJobId(contract.queue, shard.tag)
        : idempotentJobId(contract.queue, type, key, this.options.idempotencySecret, shard.tag);

    if (key !== undefined) {
      const existing = await this.sameRequest(id, type, data);
      if (existing) return existing;
    }
    const jobOptions = this.jobOptions(contract, id, options.delayMs);
    let added: Job;
    if (contract.children) {
      added = (await this.flowProducerOn(shard).add(this.flow(contract, data, jobOptions))).job;
    } else {
      added = await this.onShard(contract.queue, shard).add(
        type,
        data,
        deduplicationId ? { ...jobOptions, deduplication: { id: deduplicationId } } : jobOptions,
      );
      // With deduplication BullMQ answers with the job that already holds the key.
      if (added.id !== undefined && added.id !== id)
        return { id: added.id, state: await added.getState(), created: false };
    }
    if (key !== undefined) {
      // A concurrent request with the same key may have won the race: BullMQ then kept that
      // job and ignored this add. The stored job's creation time tells whose it is (the job
      // just added is found here too, and is no replay).
      const stored = await this.storedRequest(id, type, data);
      if (stored && stored.timestamp !== added.timestamp) return { id, state: await stored.getState(), created: false };
    }
    return { id, state: initialState(contract, options.delayMs), created: true };
  }

  /** The public view of a job, or undefined when the id is malformed, unknown or expired. */
  async find(id: string): Promise<JobView | undefined> {
    const queue = this.queueOfJob(id);
    if (!queue) return undefined;
    // State first: a job that finishes between the two reads then shows its older state with its
    // newer data, never "completed" without its result.
    const state = await queue.getJobState(id);
    const job = await Job.fromId(queue, id);
    return job ? toJobView(job, state) : undefined;
  }

  /** Removes a job that has not started; active and finished jobs are left alone. */
  async cancel(id: string): Promise<CancelOutcome> {
    const job = await this.jobById(id);
    if (!job) return 'not-found';
    const state = await job.getState();
    if (state === 'active') return 'active';
    if (isFinished(state)) return 'finished';
    try {
      await job.remove();
      return 'cancelled';
    } catch (error) {
      // BullMQ refuses to remove a locked job: it became active after we looked.
      if ((await job.getState()) === 'active') return 'active';
      throw error;
    }
  }

  /** Closes the queues; the shared connection belongs to the caller. */
  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].flat().map((q) => q.close()));
    await Promise.all(this.flows.map((flows) => flows.close()));
  }

  /**
   * The BullMQ job behind an id, or undefined when the id is malformed, names no declared queue
   * or no shard of this layout, or is unknown.
   */
  async jobById(id: string): Promise<Job | undefined> {
    const queue = this.queueOfJob(id);
    return queue ? await Job.fromId(queue, id) : undefined;
  }

  /** The BullMQ queue a job id names: its queue on the shard of its tag. */
  private queueOfJob(id: string): Queue | undefined {
    const address = parseJobId(id);
    const shard = this.shards.byTag(address?.shardTag);
    return address && shard ? this.queues.get(address.queue)?.[shard.index] : undefined;
  }

  private onShard(queue: string, shard: QueueShard): Queue {
    const onShard = this.shardsOf(queue)[shard.index];
    if (!onShard) throw new Error(`queue "${queue}" has no shard ${shard.index}`);
    return onShard;
  }

  private flowProducerOn(shard: QueueShard): FlowProducer {
    const flows = this.flows[shard.index];
    if (!flows) throw new Error(`no flow producer for shard ${shard.index}`);
    return flows;
  }

  private async sameRequest(id: string, type: string, data: unknown): Promise<EnqueueResult | undefined> {
    const job = await this.storedRequest(id, type, data);
    return job ? { id, state: await job.getState(), created: false } : undefined;
  }

  /** The stored job with this id; IdempotencyConflictError when it holds another type or input. */
  private async storedRequest(id: string, type: string, data: unknown): Promise<Job | undefined> {
    const job = await this.jobById(id);
    if (job && (job.name !== type || !isDeepStrictEqual(job.data, data))) throw new IdempotencyConflictError(id);
    return job;
  }

  private jobOptions(contract: AnyJobContract, jobId: string, delayMs: number | undefined): JobsOptions {
    const { retry } = contract;
    const { retention } = this.options;
    return {
      jobId,
      attempts: retry.attempts,
      backoff: { type: retry.backoff.type, delay: retry.backoff.delayMs, jitter: retry.backoff.jitter },
      removeOnComplete: keepCompleted(retention),
      removeOnFail: keepFailed(retention),
      ...(contract.priority !== undefined ? { priority: contract.priority } : {}),
      ...(delayMs ? { delay: delayMs } : {}),
    };
  }

  private flow(contract: AnyJobContract, data: unknown, options: JobsOptions): FlowJob {
    const parentId = options.jobId ?? '';
    const children = (contract.children?.(data) ?? []).map((child, index): FlowJob => {
      const childData: unknown = child.contract.input.parse(child.input);
      const opts = this.jobOptions(child.contract, childJobId(parentId, index, child.contract.queue), undefined);
      return { name: child.contract.name, queueName: child.contract.queue, data: childData, opts };
    });
    return { name: contract.name, queueName: contract.queue, data, opts: options, children };
  }
}

function initialState(contract: AnyJobContract, delayMs: number | undefined): JobStateName {
  if (contract.children) return 'waiting-children';
  if (delayMs) return 'delayed';
  return contract.priority !== undefined ? 'prioritized' : 'waiting';
}
