import { defineJob } from '@flotilla/queue';
import { z } from 'zod';
import { backgroundQueue } from '../queues.js';

/** Recomputes a stale cached fragment so the web keeps serving the old one at once meanwhile. */
export const refreshFragmentJob = defineJob({
  name: 'refresh-fragment',
  queue: backgroundQueue.name,
  description: 'Recomputes a cached fragment that was served stale (stale-while-revalidate).',
  input: z.strictObject({ fragment: z.enum(['most-discussed']) }),
  result: z.object({ fragment: z.string(), refreshedAt: z.iso.datetime() }),
  retry: { attempts: 3, backoff: { type: 'exponential', delayMs: 500, jitter: 0.5 } },
  internal: true,
  // However many stale hits ask for it, one refresh at a time per fragment.
  deduplicationKey: ({ fragment }) => fragment,
});
