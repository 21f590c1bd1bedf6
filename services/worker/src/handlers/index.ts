import type { ArticleFragments } from '@flotilla/articles';
import type { BoundHandler } from '@flotilla/queue';
import type { RedisClient } from '@flotilla/redis';
import type { UrlChecker, UrlCheckStore } from '@flotilla/url-checker';
import { checkUrlHandler } from './check-url.js';
import { digestHandler } from './digest.js';
import { fibHandler } from './fib.js';
import { flakyHandler } from './flaky.js';
import { moderateCommentHandler, type ModerationDeps } from './moderate-comment.js';
import { refreshFragmentHandler } from './refresh-fragment.js';
import { sleepHandler } from './sleep.js';
import { spinHandler } from './spin.js';
import { tallyHandler } from './tally.js';
import { urlCheckReportHandler } from './url-check-report.js';

/** Handlers that need nothing but their input; the worker-thread sandbox loads these. */
export const selfContainedHandlers: readonly BoundHandler[] = [
  fibHandler,
  sleepHandler,
  flakyHandler,
  digestHandler,
  spinHandler,
];

/** What the example domain's handlers need: the content store, the caches and the URL checker. */
export interface DomainHandlerDeps extends ModerationDeps {
  readonly fragments: ArticleFragments;
  readonly checker: UrlChecker;
  readonly urlChecks: UrlCheckStore;
  readonly urlCheckIntervalMs: number;
  /** The queue Redis (it never evicts) and the prefix of the example's data keys, for tallies. */
  readonly data: { readonly redis: RedisClient; readonly prefix: string };
}

/** One handler per declared job type; the worker refuses to start if one is missing. */
export function createHandlers(deps: DomainHandlerDeps): readonly BoundHandler[] {
  return [
    ...selfContainedHandlers,
    refreshFragmentHandler(deps.fragments),
    moderateCommentHandler(deps),
    checkUrlHandler(deps.checker),
    urlCheckReportHandler(deps.urlChecks, deps.urlCheckIntervalMs),
    tallyHandler(deps.data.redis, deps.data.prefix),
  ];
}
