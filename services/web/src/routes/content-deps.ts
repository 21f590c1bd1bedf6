import type { ArticleFragments, ArticleStore, TagInvalidator } from '@flotilla/articles';
import type { JobProducer } from '@flotilla/queue';
import type { PageCache } from '../page-cache/page-cache.js';

/** What the example domain's routes need. */
export interface ContentDeps {
  readonly store: ArticleStore;
  readonly fragments: ArticleFragments;
  /** Drops every cached page and fragment that depends on the tags, on every replica. */
  readonly invalidate: TagInvalidator;
  readonly producer: JobProducer;
  /** Undefined when PAGE_CACHE_TTL_SECONDS is 0. */
  readonly pageCache: PageCache | undefined;
}
