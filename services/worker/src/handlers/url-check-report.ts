import { urlCheckReportJob } from '@flotilla/jobs';
import { defineHandler, type BoundHandler } from '@flotilla/queue';
import type { UrlCheckStore } from '@flotilla/url-checker';
import { periodAt } from '../url-check-rounds.js';

/**
 * Reports the round before the one the run was scheduled in, which has had its whole period to
 * finish. Taken from the schedule, not the clock, so a run that starts late (a busy worker, a
 * retry) still reports its own round and no round is reported twice.
 */
export function urlCheckReportHandler(store: UrlCheckStore, intervalMs: number): BoundHandler {
  return defineHandler(urlCheckReportJob, async (_input, { scheduledAt }) => {
    const { period, targets, checked, up, unchecked } = await store.report(
      periodAt(scheduledAt ?? Date.now(), intervalMs) - 1,
    );
    return { period, targets, checked, up, unchecked };
  });
}
