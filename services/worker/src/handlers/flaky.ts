import { flakyJob } from '@flotilla/jobs';
import { defineHandler } from '@flotilla/queue';

export const flakyHandler = defineHandler(flakyJob, ({ failTimes }, context) => {
  if (context.attempt <= failTimes) {
    throw new Error(
      `flaky: attempt ${context.attempt} of ${context.maxAttempts} fails on purpose (failTimes=${failTimes})`,
    );
  }
  return { succeededOnAttempt: context.attempt };
});
