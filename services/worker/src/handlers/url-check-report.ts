import { urlCheckReportJob } from '@flotilla/jobs';
import { defineHandler, type BoundHandler } from '@flotilla/queue';
import type { UrlCheckStore } from '@flotilla/url-checker';
import { periodAt } from '../url-check-rounds.js';

/** Reports the round before the current one, which has had its whole period to finish. */
export function urlCheckReportHandler(store: UrlCheckStore, intervalSeconds: number): BoundHandler {
  return defineHandler(urlCheckReportJob, async () => {
    const { period, targets, checked, up, unchecked } = await store.report(periodAt(Date.now(), intervalSeconds) - 1);
    return { period, targets, checked, up, unchecked };
  });
}
