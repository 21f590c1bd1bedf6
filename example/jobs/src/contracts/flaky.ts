import { defineJob } from '@flotilla/queue';
import { z } from 'zod';
import { defaultQueue } from '../queues.js';

/** Fails `failTimes` times, then succeeds: shows retries with backoff and the failed set. */
export const flakyJob = defineJob({
  name: 'flaky',
  queue: defaultQueue.name,
  description: 'Fails the first `failTimes` attempts, then succeeds; with failTimes >= 4 it ends failed.',
  input: z.strictObject({ failTimes: z.int().min(0).max(20).describe('Attempts that fail before one succeeds') }),
  result: z.object({ succeededOnAttempt: z.int() }),
  retry: { attempts: 4, backoff: { type: 'exponential', delayMs: 200, jitter: 0.5 } },
});
