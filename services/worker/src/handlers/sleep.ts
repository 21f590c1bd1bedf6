import { setTimeout as wait } from 'node:timers/promises';
import { sleepJob } from '@flotilla/jobs';
import { defineHandler } from '@flotilla/queue';

export const sleepHandler = defineHandler(sleepJob, async ({ ms, steps }, context) => {
  for (let step = 1; step <= steps; step++) {
    await wait(ms / steps);
    await context.reportProgress(Math.round((100 * step) / steps));
  }
  return { sleptMs: ms, steps };
});
