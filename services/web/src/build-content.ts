import { ArticleFragments, ArticleStore, sampleArticles, tagInvalidator } from '@flotilla/articles';
import { Cache, type L1Options } from '@flotilla/cache';
import type { WebConfig } from '@flotilla/config';
import { refreshFragmentJob } from '@flotilla/jobs';
import type { JobProducer } from '@flotilla/queue';
import type { RedisClient, SharedSubscriber } from '@flotilla/redis';
import type { Logger } from '@flotilla/telemetry';
import { cachedPageCodec, type CachedPage } from './page-cache/cached-page.js';
import { PageCache } from './page-cache/page-cache.js';
import type { CacheStatsDeps } from './routes/cache-stats.js';
import type { ContentDeps } from './routes/content-deps.js';

/** What building the example domain needs from the process. */
export interface ContentWiring {
  readonly config: WebConfig;
  readonly logger: Logger;
  readonly producer: JobProducer;
  /** The queue Redis, which never evicts: the content lives there. */
  readonly dataRedis: RedisClient;
  /** A fail-fast connection to the cache Redis. */
  readonly cacheRedis: RedisClient;
  /** The process's pub/sub connection to the cache Redis. */
  readonly subscriber: SharedSubscriber;
  readonly isDraining: () => boolean;
}

/** The example domain with its caches, ready to serve; `close` releases the caches. */
export interface Content {
  readonly content: ContentDeps;
  readonly cacheStats: CacheStatsDeps;
  /** Every cache the content uses, for metrics. */
  readonly caches: readonly Pick<Cache<never>, 'onEvent'>[];
  close(): Promise<void>;
}

/** Builds the store, the page and fragment caches, and seeds sample articles on first start. */
export async function buildContent(wiring: ContentWiring): Promise<Content> {
  const { config, logger, producer } = wiring;
  const l1: L1Options | false =
    config.cache.l1MaxEntries > 0
      ? { maxEntries: config.cache.l1MaxEntries, maxBytes: config.cache.l1MaxBytes }
      : false;
  const shared = { redis: wiring.cacheRedis, subscriber: wiring.subscriber, prefix: config.cache.prefix, l1 };
  const [pages, fragmentCache] = await Promise.all([
    Cache.create<CachedPage>({ ...shared, groups: config.cache.shards, name: 'pages', codec: cachedPageCodec }),
    Cache.create<string>({ ...shared, groups: config.cache.shards, name: 'fragments' }),
  ]);
  const store = new ArticleStore({ redis: wiring.dataRedis, prefix: config.dataPrefix });
  const fragments = new ArticleFragments({
    cache: fragmentCache,
    store,
    requestRefresh: async (fragment) => {
      await producer.enqueue(refreshFragmentJob.name, { fragment });
    },
  });
  const caches = [pages, fragmentCache];
  const seeded = await store.seedOnce(sampleArticles);
  if (seeded > 0) logger.info({ articles: seeded }, 'seeded sample articles');

  const pageCache =
    config.pageCache.ttlMs > 0
      ? new PageCache({
          cache: pages,
          ttlMs: config.pageCache.ttlMs,
          logger,
          isDraining: wiring.isDraining,
        })
      : undefined;
  return {
    content: { store, fragments, invalidate: tagInvalidator(caches), producer, pageCache },
    cacheStats: { caches, redis: wiring.cacheRedis, prefix: config.cache.prefix },
    caches,
    async close() {
      await Promise.all(caches.map((cache) => cache.close()));
    },
  };
}
