import { defineJob } from '@flotilla/queue';
import { z } from 'zod';
import { cpuQueue } from '../queues.js';

/** The n-th Fibonacci number, computed exactly with big integers: a CPU-bound example. */
export const fibJob = defineJob({
  name: 'fib',
  queue: cpuQueue.name,
  description: 'Computes the n-th Fibonacci number exactly (CPU-bound, runs in a worker thread).',
  input: z.strictObject({ n: z.int().min(0).max(100_000).describe('Which Fibonacci number') }),
  result: z.object({
    n: z.int(),
    digits: z.int().describe('Number of decimal digits'),
    value: z.string().describe('The number in decimal'),
  }),
  retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 1000, jitter: 0 } },
});
