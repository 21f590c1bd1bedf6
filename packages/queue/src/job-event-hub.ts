import type { RedisClient } from '@flotilla/redis';
import type { Logger } from '@flotilla/telemetry';
import { parseJobId } from './job-ids.js';
import type { QueueShard, QueueShards } from './queue-shards.js';
import { StreamTail, type StreamEntry } from './stream-tail.js';

/** A change to one job, as read from its queue's Redis event stream. */
export interface JobEvent {
  /** The stream entry id: ordered, shared by every replica, usable as an SSE event id. */
  readonly id: string;
  readonly jobId: string;
  readonly type: 'active' | 'progress' | 'retrying' | 'completed' | 'failed' | 'cancelled';
  readonly data?: unknown;
}

/** Events after which a job never changes again. */
export function isTerminalEvent(event: JobEvent): boolean {
  return event.type === 'completed' || event.type === 'failed' || event.type === 'cancelled';
}

/** Options of a job event hub. */
export interface JobEventHubOptions {
  readonly queues: readonly string[];
  /** Where the queues live: one shard, or QUEUE_SHARDS (the producer's layout). */
  readonly shards: QueueShards;
  /**
   * Opens the connection (role `consumer`) the hub blocks on for one shard, one for all its
   * queues' streams (a cluster serves a blocking read from one slot); the hub ends it on close.
   */
  readonly blocking: (shard: QueueShard) => RedisClient;
  /** A normal connection for range reads of the streams; not closed by the hub. */
  readonly reader: RedisClient;
  readonly logger: Logger;
}

type Listener = (event: JobEvent) => void;

/**
 * Most entries of a queue's event stream read to replay one job's missed events (Last-Event-ID);
 * past it the client gets the job's current state instead. Bounds what one request can make Redis send.
 */
export const REPLAY_SCAN_LIMIT = 1000;
const CLOCK_SKEW_MS = 60_000;

/**
 * Fans job events out to in-process listeners (SSE streams, long polls). Events come from
 * BullMQ's per-queue Redis streams, so a job that runs on any machine is seen by every web
 * replica, and a reconnecting client can be replayed what it missed from the stream. One
 * blocking read per shard follows every queue's stream on it; a job's events are all on its
 * own shard, so their ids keep their order.
 */
export class JobEventHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly tails: readonly StreamTail[];

  constructor(private readonly options: JobEventHubOptions) {
    this.tails = options.shards.all.map(
      (shard) =>
        new StreamTail({
          keys: options.queues.map((queue) => eventStreamKey(shard.prefix, queue)),
          connection: options.blocking(shard),
          // Nobody follows a job: no reads (under a flood of submissions, two entries per job).
          wanted: () => this.listeners.size > 0,
          positionReader: options.reader,
          onEntry: (_key, entry) => this.dispatch(entryToJobEvent(entry)),
          onError: (error) => options.logger.warn({ err: error, shard: shard.prefix }, 'job event stream error'),
        }),
    );
  }

  /** Resolves once the streams are followed; events before that are not seen live. */
  async waitUntilReady(): Promise<void> {
    await Promise.all(this.tails.map((tail) => tail.waitUntilStarted()));
  }

  /** Calls `listener` for each live event of one job until the returned function is called. */
  subscribe(jobId: string, listener: Listener): () => void {
    let set = this.listeners.get(jobId);
    if (!set) {
      set = new Set();
      this.listeners.set(jobId, set);
    }
    set.add(listener);
    // Before the caller reads the job's stream on the reader connection (see StreamTail.wake).
    for (const tail of this.tails) tail.wake();
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(jobId);
    };
  }

  /** The live subscriptions now open: requests still following a job (streams, long polls). */
  get listenerCount(): number {
    let count = 0;
    for (const set of this.listeners.values()) count += set.size;
    return count;
  }

  /** The id of the newest entry in a job's event stream ('0-0' when empty). */
  async lastEventId(jobId: string): Promise<string> {
    const entries = (await this.options.reader.xrevrange(this.streamKey(jobId), '+', '-', 'COUNT', 1)) as [
      string,
      string[],
    ][];
    return entries[0]?.[0] ?? '0-0';
  }

  /**
   * The events of one job after `afterId` up to and including `untilId`, or undefined when they
   * cannot be replayed: the stream no longer reaches back to `afterId` (trimmed), or more than
   * {@link REPLAY_SCAN_LIMIT} entries of the queue lie in between. The caller then falls back to
   * a snapshot. Nothing before the job's creation (`createdAtMs`) is read: a client-chosen id at
   * the start of a busy stream costs no more than a fresh one.
   */
  async eventsBetween(
    jobId: string,
    afterId: string,
    untilId: string,
    createdAtMs = 0,
  ): Promise<JobEvent[] | undefined> {
    const key = this.streamKey(jobId);
    const first = (await this.options.reader.xrange(key, '-', '+', 'COUNT', 1)) as [string, string[]][];
    const oldest = first[0]?.[0];
    if (oldest === undefined || compareStreamIds(oldest, afterId) > 0) return undefined;
    // Stream ids are Redis's clock, createdAtMs the producer's: allow for a skew between them.
    const created = `${Math.max(0, Math.floor(createdAtMs) - CLOCK_SKEW_MS)}-0`;
    const start = compareStreamIds(created, afterId) > 0 ? created : `(${afterId}`;
    const entries = (await this.options.reader.xrange(key, start, untilId, 'COUNT', REPLAY_SCAN_LIMIT + 1)) as [
      string,
      string[],
    ][];
    if (entries.length > REPLAY_SCAN_LIMIT) return undefined;
    const events: JobEvent[] = [];
    for (const entry of entries) {
      const event = entryToJobEvent(entry);
      if (event?.jobId === jobId) events.push(event);
    }
    return events;
  }

  /** Stops reading the streams and ends the blocking connection. */
  async close(): Promise<void> {
    this.listeners.clear();
    await Promise.all(this.tails.map((tail) => tail.close()));
  }

  private streamKey(jobId: string): string {
    const address = parseJobId(jobId);
    const shard = this.options.shards.byTag(address?.shardTag);
    if (!address || !shard) throw new Error(`not a job id of these shards: ${jobId}`);
    return eventStreamKey(shard.prefix, address.queue);
  }

  private dispatch(event: JobEvent | undefined): void {
    if (!event) return;
    const set = this.listeners.get(event.jobId);
    if (!set) return;
    for (const listener of [...set]) listener(event);
  }
}

/** Orders two Redis stream ids ("ms-seq"). */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map((p) => BigInt(p));
  const [bm = 0n, bs = 0n] = b.split('-').map((p) => BigInt(p));
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}

// Where BullMQ writes a queue's events.
function eventStreamKey(prefix: string, queue: string): string {
  return `${prefix}:${queue}:events`;
}

function entryToJobEvent([id, fields]: StreamEntry): JobEvent | undefined {
  const args = fieldsToObject(fields);
  const name = args['event'];
  if (typeof name !== 'string') return undefined;
  return toJobEvent(name, { ...args, ...parseJsonField(args, 'data'), ...parseJsonField(args, 'returnvalue') }, id);
}

function toJobEvent(name: string, args: Record<string, unknown>, id: string): JobEvent | undefined {
  const jobId = args['jobId'];
  if (typeof jobId !== 'string') return undefined;
  switch (name) {
    case 'active':
      return { id, jobId, type: 'active' };
    case 'progress':
      return { id, jobId, type: 'progress', data: args['data'] };
    case 'delayed':
    case 'waiting':
      // A job already seen active that goes back to waiting or delayed is being retried.
      return args['prev'] === 'active' || args['prev'] === 'failed' || name === 'delayed'
        ? { id, jobId, type: 'retrying' }
        : undefined;
    case 'completed':
      return { id, jobId, type: 'completed', data: args['returnvalue'] };
    case 'failed':
      return { id, jobId, type: 'failed', data: args['failedReason'] };
    case 'removed':
      return { id, jobId, type: 'cancelled' };
    default:
      return undefined;
  }
}

function fieldsToObject(fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i] ?? ''] = fields[i + 1];
  return out;
}

function parseJsonField(args: Record<string, unknown>, field: string): Record<string, unknown> {
  const raw = args[field];
  if (typeof raw !== 'string') return {};
  try {
    return { [field]: JSON.parse(raw) as unknown };
  } catch {
    return {};
  }
}
