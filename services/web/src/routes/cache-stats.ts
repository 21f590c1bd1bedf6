import { Router } from 'express';
import escapeHtml from 'escape-html';
import { renderLayout } from '@flotilla/articles';
import { readCacheStats, type Cache, type CacheStatsPoint, type CacheStatsSnapshot } from '@flotilla/cache';
import type { RedisClient } from '@flotilla/redis';
import { integerQuery } from './request-checks.js';

/** What the statistics routes read. */
export interface CacheStatsDeps {
  readonly caches: readonly Pick<Cache<never>, 'stats'>[];
  /** The cache Redis, where every process adds its counters each few seconds. */
  readonly redis: RedisClient;
  readonly prefix: string;
}

interface CacheReport {
  readonly name: string;
  /** This process since it started. */
  readonly process: CacheStatsSnapshot;
  /** The whole fleet, minute by minute, oldest first. */
  readonly fleet: readonly CacheStatsPoint[];
}

const DEFAULT_MINUTES = 60;
const MAX_MINUTES = 2 * 24 * 60;

/** GET /api/cache/stats (JSON) and GET /cache (a page): hit ratios per cache over time. */
export function cacheStatsRoutes(deps: CacheStatsDeps): Router {
  const router = Router();
  const report = async (minutes: number): Promise<CacheReport[]> =>
    await Promise.all(
      deps.caches.map(async (cache) => {
        const process = cache.stats();
        return {
          name: process.name,
          process,
          fleet: await readCacheStats(deps.redis, deps.prefix, process.name, minutes),
        };
      }),
    );

  router.get('/api/cache/stats', async (req, res) => {
    const minutes = integerQuery(req, 'minutes', 1, MAX_MINUTES) ?? DEFAULT_MINUTES;
    res.set('cache-control', 'no-store').json({ minutes, caches: await report(minutes) });
  });

  router.get('/cache', async (req, res) => {
    const minutes = integerQuery(req, 'minutes', 1, MAX_MINUTES) ?? DEFAULT_MINUTES;
    res
      .set('cache-control', 'no-store')
      .type('html')
      .send(renderLayout('Cache statistics', (await report(minutes)).map(renderReport).join('\n')));
  });
  return router;
}

function renderReport({ name, process, fleet }: CacheReport): string {
  const rows = fleet
    .filter((p) => p.hits + p.misses + p.invalidations + p.refreshes > 0)
    .reverse()
    .map(
      (p) =>
        `<tr><td>${escapeHtml(p.minute)}</td><td>${p.hits}</td><td>${p.misses}</td><td>${p.staleHits}</td><td>${p.refreshes}</td><td>${p.invalidations}</td><td>${ratio(p.hitRatio)}</td><td>${perRegeneration(p.hits, p.misses)}</td></tr>`,
    )
    .join('');
  return `<section><h2>${escapeHtml(name)}</h2>
<p class="meta">This process: ${process.hits} hits (${process.l1Hits} from memory), ${process.misses} misses, ${process.staleHits} stale, ${process.invalidations} invalidations; ${process.l1Entries} entries in memory.</p>
<table><thead><tr><th>minute (fleet)</th><th>hits</th><th>misses</th><th>stale</th><th>refreshes</th><th>invalidations</th><th>hit ratio</th><th>hits per regeneration</th></tr></thead>
<tbody>${rows || '<tr><td colspan="8">no traffic yet</td></tr>'}</tbody></table></section>`;
}

function ratio(value: number | null): string {
  return value === null ? '–' : `${(value * 100).toFixed(1)}%`;
}

// "One regeneration per N hits": every miss renders the page or fragment once.
function perRegeneration(hits: number, misses: number): string {
  return misses === 0 ? (hits > 0 ? `${hits} (none)` : '–') : (hits / misses).toFixed(1);
}
