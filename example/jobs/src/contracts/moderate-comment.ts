import { defineJob } from '@flotilla/queue';
import { z } from 'zod';
import { backgroundQueue } from '../queues.js';

/** Checks a new comment after it was published and removes it when it looks like spam. */
export const moderateCommentJob = defineJob({
  name: 'moderate-comment',
  queue: backgroundQueue.name,
  description: 'Checks a posted comment for spam; removes it and invalidates the pages showing it when it is.',
  input: z.strictObject({ articleId: z.int().min(1), commentId: z.int().min(1) }),
  result: z.object({ verdict: z.enum(['kept', 'removed', 'gone']), reasons: z.array(z.string()) }),
  retry: { attempts: 5, backoff: { type: 'exponential', delayMs: 1000, jitter: 0.5 } },
  internal: true,
});
