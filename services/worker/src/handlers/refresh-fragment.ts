import type { ArticleFragments } from '@flotilla/articles';
import { refreshFragmentJob } from '@flotilla/jobs';
import { defineHandler, type BoundHandler } from '@flotilla/queue';

/** Recomputes a fragment the web served stale; the cache's pub/sub tells every web replica. */
export function refreshFragmentHandler(fragments: ArticleFragments): BoundHandler {
  return defineHandler(refreshFragmentJob, async ({ fragment }) => {
    await fragments.refresh(fragment);
    return { fragment, refreshedAt: new Date().toISOString() };
  });
}
