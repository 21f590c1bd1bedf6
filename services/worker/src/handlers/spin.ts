import { spinJob } from '@flotilla/jobs';
import { defineHandler } from '@flotilla/queue';

export const spinHandler = defineHandler(spinJob, ({ ms }) => {
  const started = Date.now();
  // Deliberately never yields: it stands for a computation that ignores every signal.
  while (Date.now() - started < ms);
  return { spunMs: Date.now() - started };
});
