import { defineJob } from '@flotilla/queue';
import { z } from 'zod';
import { defaultQueue } from '../queues.js';

/** Waits, reporting progress at each step: stands in for I/O-bound work. */
export const sleepJob = defineJob({
  name: 'sleep',
  queue: defaultQueue.name,
  description: 'Waits `ms` milliseconds in `steps` steps, reporting progress after each.',
  input: z.strictObject({
    ms: z.int().min(0).max(600_000).describe('Total time to wait'),
    steps: z.int().min(1).max(100).default(1).describe('Progress reports'),
  }),
  result: z.object({ sleptMs: z.int(), steps: z.int() }),
  retry: { attempts: 3, backoff: { type: 'exponential', delayMs: 1000, jitter: 0.5 } },
});
