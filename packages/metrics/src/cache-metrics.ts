import type { Cache } from '@flotilla/cache';
import { Counter, type Registry } from 'prom-client';

/** `flotilla_cache_requests_total{cache,result}` and `flotilla_cache_invalidations_total{cache}`. */
export class CacheMetrics {
  private readonly requests: Counter<'cache' | 'result'>;
  private readonly invalidations: Counter<'cache'>;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'flotilla_cache_requests_total',
      help: 'Cache lookups by result (hit, miss, stale); stale hits are not counted as hits here',
      labelNames: ['cache', 'result'],
      registers: [registry],
    });
    this.invalidations = new Counter({
      name: 'flotilla_cache_invalidations_total',
      help: 'Keys deleted and tags invalidated by this process',
      labelNames: ['cache'],
      registers: [registry],
    });
  }

  /** Counts one cache's events from now on. */
  observe(cache: Pick<Cache<never>, 'onEvent'>): void {
    cache.onEvent((event) => {
      switch (event.type) {
        case 'hit':
        case 'stale':
        case 'miss':
          this.requests.inc({ cache: event.cache, result: event.type });
          return;
        case 'invalidation':
          this.invalidations.inc({ cache: event.cache });
          return;
        default:
          return;
      }
    });
  }
}
