import { randomBytes } from 'node:crypto';

/**
 * A BullMQ key prefix unique to one test, e.g. `{t-3f9a0c1d2e4b}`. The braces are a Redis
 * Cluster hash tag, so every key of the queue lands in one slot, as BullMQ requires there.
 */
export function uniqueQueuePrefix(): string {
  return `{t-${randomBytes(6).toString('hex')}}`;
}
