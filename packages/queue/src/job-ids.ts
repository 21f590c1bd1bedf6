import { createHmac, randomFillSync } from 'node:crypto';

// Ids are capabilities: whoever holds a job's URL may read it, so they carry 128 random bits.
// The queue name in front tells any web replica where to look without a lookup table.
const JOB_ID = /^([a-z][a-z0-9-]{0,29})\.([A-Za-z0-9_-]{22,43})$/;

const ID_BYTES = 16;
// Random bytes for 256 ids at a time: a crypto.randomBytes call per id cost about 4 µs here,
// a slice of this pool about 0.3 µs (Node's randomUUID keeps a cache the same way).
const idPool = Buffer.alloc(ID_BYTES * 256);
let idPoolOffset = idPool.length;

/** A new unguessable job id on a queue. */
export function newJobId(queue: string): string {
  if (idPoolOffset === idPool.length) {
    randomFillSync(idPool);
    idPoolOffset = 0;
  }
  const random = idPool.toString('base64url', idPoolOffset, idPoolOffset + ID_BYTES);
  idPoolOffset += ID_BYTES;
  return `${queue}.${random}`;
}

/**
 * The job id for an Idempotency-Key: the same key (per job type) always yields the same id, so
 * a retried request, or a command the Redis client re-sends after a reconnect, finds the job
 * already there. Keyed with a server secret so a guessable client key gives no guessable id.
 */
export function idempotentJobId(queue: string, type: string, key: string, secret: string): string {
  const mac = createHmac('sha256', secret).update(type).update('\0').update(key).digest('base64url');
  return `${queue}.${mac.slice(0, 32)}`;
}

/** The queue named by a job id, or undefined when the string is not a job id at all. */
export function queueOfJobId(id: string): string | undefined {
  return JOB_ID.exec(id)?.[1];
}

/**
 * The id of a flow's child, derived from its parent's id so that adding the same flow twice
 * (a retried request, a re-sent command) finds every child already there.
 */
export function childJobId(parentId: string, index: number, queue: string): string {
  const mac = createHmac('sha256', 'flotilla-child')
    .update(parentId)
    .update('\0')
    .update(String(index))
    .digest('base64url');
  return `${queue}.${mac.slice(0, 32)}`;
}
