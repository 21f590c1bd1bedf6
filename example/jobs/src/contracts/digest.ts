import { childJob, defineJob } from '@flotilla/queue';
import { z } from 'zod';
import { defaultQueue } from '../queues.js';
import { fibJob } from './fib.js';

/**
 * A flow: one `fib` child per number, on the cpu queue; the digest itself runs only after all
 * of them finish and combines their results.
 */
export const digestJob = defineJob({
  name: 'digest',
  queue: defaultQueue.name,
  description: 'Computes fib(n) for each n as child jobs, then a SHA-256 over their values in order.',
  input: z.strictObject({
    ns: z.array(z.int().min(0).max(10_000)).min(1).max(20).describe('Fibonacci numbers to combine'),
  }),
  result: z.object({
    count: z.int(),
    totalDigits: z.int(),
    sha256: z.string().describe('Hex SHA-256 of the values joined by newlines, in input order'),
  }),
  retry: { attempts: 3, backoff: { type: 'exponential', delayMs: 500, jitter: 0.5 } },
  children: (input) => input.ns.map((n) => childJob(fibJob, { n })),
});
