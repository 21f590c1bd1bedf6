import { createHmac, randomFillSync } from 'node:crypto';

// Ids are capabilities: whoever holds a job's URL may read it, so they carry 128 random bits.
// The queue name in front, and the shard's tag after it on a sharded queue, tell any web
// replica where to look without a lookup table.
const JOB_ID = /^([a-z][a-z0-9-]{0,29})\.(?:(\d{1,6})\.)?([A-Za-z0-9_-]{22,43})$/;

const ID_BYTES = 16;
// Random bytes for 256 ids at a time: a crypto.randomBytes call per id cost about 4 µs here,
// a slice of this pool about 0.3 µs (Node's randomUUID keeps a cache the same way).
const idPool = Buffer.alloc(ID_BYTES * 256);
let idPoolOffset = idPool.length;

/** Where a job id says its job lives. */
export interface JobAddress {
  readonly queue: string;
  /** The shard's tag; undefined for the first shard (and every job of an unsharded queue). */
  readonly shardTag: string | undefined;
}

/** A job id on `queue`, in the shard with tag `shardTag` (none: the first shard). */
function jobId(queue: string, shardTag: string | undefined, token: string): string {
  return shardTag === undefined ? `${queue}.${token}` : `${queue}.${shardTag}.${token}`;
}

/** A new unguessable job id on a queue. */
export function newJobId(queue: string, shardTag?: string): string {
  if (idPoolOffset === idPool.length) {
    randomFillSync(idPool);
    idPoolOffset = 0;
  }
  const random = idPool.toString('base64url', idPoolOffset, idPoolOffset + ID_BYTES);
  idPoolOffset += ID_BYTES;
  return jobId(queue, shardTag, random);
}

/**
 * The job id for an Idempotency-Key: the same key (per job type) always yields the same id, so
 * a retried request, or a command the Redis client re-sends after a reconnect, finds the job
 * already there. Keyed with a server secret so a guessable client key gives no guessable id.
 */
export function idempotentJobId(queue: string, type: string, key: string, secret: string, shardTag?: string): string {
  const mac = createHmac('sha256', secret).update(type).update('\0').update(key).digest('base64url');
  return jobId(queue, shardTag, mac.slice(0, 32));
}

/** The queue and shard a job id names, or undefined when the string is not a job id at all. */
export function parseJobId(id: string): JobAddress | undefined {
  const match = JOB_ID.exec(id);
  return match?.[1] === undefined ? undefined : { queue: match[1], shardTag: match[2] };
}

/** The queue named by a job id, or undefined when the string is not a job id at all. */
export function queueOfJobId(id: string): string | undefined {
  return parseJobId(id)?.queue;
}

/**
 * The id of a flow's child, derived from its parent's id so that adding the same flow twice
 * (a retried request, a re-sent command) finds every child already there. Children live on
 * their parent's shard, which BullMQ needs to track them in one Redis slot.
 */
export function childJobId(parentId: string, index: number, queue: string): string {
  const mac = createHmac('sha256', 'flotilla-child')
    .update(parentId)
    .update('\0')
    .update(String(index))
    .digest('base64url');
  return jobId(queue, parseJobId(parentId)?.shardTag, mac.slice(0, 32));
}
