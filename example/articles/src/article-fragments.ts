import type { Cache } from '@flotilla/cache';
import type { ArticleStore } from './article-store.js';
import { renderCard, renderMostDiscussed } from './html.js';

/** The fragments that can be refreshed in the background by name. */
export type RefreshableFragment = 'most-discussed';

/** How long fragments stay fresh, and how long a stale one may still be served. */
export interface FragmentTimings {
  readonly cardTtlMs: number;
  readonly mostDiscussedTtlMs: number;
  readonly mostDiscussedStaleMs: number;
}

/** Options of the article fragments. */
export interface ArticleFragmentsOptions {
  readonly cache: Cache<string>;
  readonly store: ArticleStore;
  readonly timings?: Partial<FragmentTimings>;
  /** Asks for a background refresh of a stale fragment (the web enqueues a job). */
  readonly requestRefresh?: (fragment: RefreshableFragment) => Promise<void> | void;
}

const DEFAULT_TIMINGS: FragmentTimings = {
  cardTtlMs: 3_600_000,
  mostDiscussedTtlMs: 10_000,
  mostDiscussedStaleMs: 600_000,
};
const MOST_DISCUSSED_SIZE = 5;

/** The tag every cached piece that shows an article depends on. */
export function articleTag(id: number): string {
  return `article:${id}`;
}

/** The tag of pages that list articles (the home page). */
export const ARTICLE_LIST_TAG = 'article-list';

/**
 * The home page's cached pieces: one card per article, fetched together in one round trip and
 * invalidated through the article's tag, and the "most discussed" aggregate, which is served
 * stale while a worker recomputes it.
 */
export class ArticleFragments {
  private readonly timings: FragmentTimings;

  constructor(private readonly options: ArticleFragmentsOptions) {
    this.timings = { ...DEFAULT_TIMINGS, ...options.timings };
  }

  /** The cards of the given articles, in order; misses are rendered and stored in one write. */
  async cards(ids: readonly number[]): Promise<string[]> {
    const { cache, store } = this.options;
    const hits = await cache.getMany(ids.map(cardKey));
    const missing = ids.filter((_id, i) => hits[i] === undefined);
    const rendered = new Map<number, string>();
    if (missing.length > 0) {
      // Before reading the articles: a card rendered from data that changes meanwhile is not stored.
      const fence = await cache.fence();
      const summaries = await store.summaries(missing);
      for (const summary of summaries) rendered.set(summary.id, renderCard(summary));
      await cache.setMany(
        summaries.map((s) => ({
          key: cardKey(s.id),
          value: rendered.get(s.id) ?? '',
          options: { ttlMs: this.timings.cardTtlMs, tags: [articleTag(s.id)], fence },
        })),
      );
    }
    return ids.flatMap((id, i) => {
      const html = hits[i]?.value ?? rendered.get(id);
      return html === undefined ? [] : [html];
    });
  }

  /** The "most discussed" box; a stale copy is served at once while a refresh is requested. */
  async mostDiscussed(): Promise<string> {
    const { requestRefresh } = this.options;
    const result = await this.options.cache.wrap(MOST_DISCUSSED_KEY, () => this.computeMostDiscussed(), {
      ttlMs: this.timings.mostDiscussedTtlMs,
      staleMs: this.timings.mostDiscussedStaleMs,
      fleetSingleFlight: true,
      ...(requestRefresh ? { onStale: () => requestRefresh('most-discussed') } : {}),
    });
    return result.value;
  }

  /** Recomputes a fragment and stores it: what the worker's refresh job does. */
  async refresh(fragment: RefreshableFragment): Promise<void> {
    switch (fragment) {
      case 'most-discussed':
        await this.options.cache.set(MOST_DISCUSSED_KEY, await this.computeMostDiscussed(), {
          ttlMs: this.timings.mostDiscussedTtlMs,
          staleMs: this.timings.mostDiscussedStaleMs,
        });
        return;
    }
  }

  // Reads every article: the kind of aggregate worth caching with stale-while-revalidate.
  private async computeMostDiscussed(): Promise<string> {
    const { store } = this.options;
    const all = await store.summaries(await store.ids());
    const top = all
      .filter((s) => s.commentCount > 0)
      .sort((a, b) => b.commentCount - a.commentCount || b.id - a.id)
      .slice(0, MOST_DISCUSSED_SIZE);
    return renderMostDiscussed(top, new Date().toISOString());
  }
}

const MOST_DISCUSSED_KEY = 'most-discussed';

function cardKey(id: number): string {
  return `card:${id}`;
}
