import { defineJob } from '@flotilla/queue';
import { z } from 'zod';
import { cpuQueue } from '../queues.js';

/**
 * Keeps a CPU busy without ever yielding, like a runaway computation: only ending its worker
 * thread stops it, which is what the worker does when an attempt outlives the 2 s timeout.
 */
export const spinJob = defineJob({
  name: 'spin',
  queue: cpuQueue.name,
  description:
    'Busy-loops for `ms` milliseconds without yielding; past the 2 s timeout its worker thread is terminated.',
  input: z.strictObject({ ms: z.int().min(0).max(600_000).describe('How long to keep the CPU busy') }),
  result: z.object({ spunMs: z.int() }),
  retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 100, jitter: 0 } },
  timeoutMs: 2000,
  internal: true,
});
