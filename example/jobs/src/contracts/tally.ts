import { defineJob } from '@flotilla/queue';
import { z } from 'zod';
import { defaultQueue } from '../queues.js';

/**
 * Adds `amount` to a named tally exactly once per job however often the job runs: the example of
 * an idempotent handler under at-least-once delivery. Every run is also counted per job id, so
 * duplicate deliveries (a worker killed after the effect, before the job was marked done) show.
 */
export const tallyJob = defineJob({
  name: 'tally',
  queue: defaultQueue.name,
  description:
    'Adds `amount` to the tally `tally` once per job, after `workMs` of simulated work; counts every run per job id.',
  input: z.strictObject({
    tally: z
      .string()
      .regex(/^[a-z0-9-]{1,40}$/)
      .describe('Name of the tally'),
    amount: z.int().min(-1_000_000).max(1_000_000).describe('What to add'),
    workMs: z
      .int()
      .min(0)
      .max(60_000)
      .default(0)
      .describe('Simulated work before the effect; past the timeout the attempt fails'),
  }),
  result: z.object({ applied: z.boolean().describe('False when an earlier run of this job already added it') }),
  retry: { attempts: 3, backoff: { type: 'exponential', delayMs: 100, jitter: 0.5 } },
  timeoutMs: 3000,
  internal: true,
});
