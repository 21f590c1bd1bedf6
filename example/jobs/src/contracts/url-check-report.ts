import { defineJob } from '@flotilla/queue';
import { z } from 'zod';
import { backgroundQueue } from '../queues.js';

/**
 * Summarises the last finished round of the partitioned URL check. Scheduled from every worker
 * (an idempotent BullMQ job scheduler), so it runs once per period however many workers start.
 */
export const urlCheckReportJob = defineJob({
  name: 'url-check-report',
  queue: backgroundQueue.name,
  description: 'Summarises the previous round of the partitioned URL check (runs once per period, fleet-wide).',
  input: z.strictObject({}),
  result: z.object({ period: z.int(), targets: z.int(), checked: z.int(), up: z.int(), unchecked: z.int() }),
  retry: { attempts: 3, backoff: { type: 'exponential', delayMs: 1000, jitter: 0.5 } },
  internal: true,
});
