import type { ArticleInput } from './schemas.js';

/** What a fresh deployment shows on its home page, so the example works at once. */
export const sampleArticles: readonly ArticleInput[] = [
  {
    title: 'Stateless processes scale sideways',
    body: 'A web process that keeps nothing in memory can be started, stopped and multiplied at will.\n\nEverything that must survive lives in Redis: jobs, content and the shared tier of the cache.',
  },
  {
    title: 'Caching pages without serving stale ones',
    body: 'Every cached page records the tags it depends on. Changing an article invalidates its tag, and every replica drops the pages that showed it within milliseconds.\n\nThe next request renders the page once and the fleet serves it from memory again.',
  },
  {
    title: 'Queues turn slow work into fast responses',
    body: 'Posting a comment answers at once; a worker checks it for spam afterwards. If the worker dies mid-job, another one picks the job up.',
  },
];
