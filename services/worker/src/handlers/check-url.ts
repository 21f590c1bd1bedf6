import { checkUrlJob } from '@flotilla/jobs';
import { defineHandler, type BoundHandler } from '@flotilla/queue';
import type { UrlChecker } from '@flotilla/url-checker';

/** Checks one URL through the worker's pooled client; the queue's limiter paces the calls. */
export function checkUrlHandler(checker: UrlChecker): BoundHandler {
  return defineHandler(checkUrlJob, async ({ url }) => await checker.check(url));
}
