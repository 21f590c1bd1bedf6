import { Router, type RequestHandler } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { readCacheStats } from '@flotilla/cache';
import type { BoardAction } from '@flotilla/config';
import type { GroupMembership } from '@flotilla/coordination';
import { readQueueOverview, type JobCatalog, type JobProducer } from '@flotilla/queue';
import { inlineScriptPolicy } from '../security-headers.js';
import { requireAdmin, sameOriginChanges, type AdminAccess } from './admin-access.js';
import { boardActionGuard } from './board-actions.js';
import type { CacheStatsDeps } from './cache-stats.js';
import { DASHBOARD_SCRIPT_HASH, renderDashboard } from './dashboard-page.js';
import { FLEET_GROUPS } from './fleet.js';
import { whenResponseCloses } from '../when-response-closes.js';

/** What the dashboard shows and drives. */
export interface DashboardDeps {
  readonly access: AdminAccess;
  /** What bull-board may change (DASHBOARD_ACTIONS). */
  readonly actions: readonly BoardAction[];
  readonly catalog: JobCatalog;
  readonly producer: JobProducer;
  readonly membership: GroupMembership;
  /** Where the fleet's cache counters are. */
  readonly cacheStats: CacheStatsDeps;
  /** Registers a long-lived stream to be closed at shutdown. */
  readonly trackStream: (close: () => void) => () => void;
}

const UPDATE_EVERY_MS = 2000;
/** How far back the throughput and cache figures reach. */
const WINDOW_MINUTES = 15;

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/**
 * What bull-board puts before a queue's name to tell its shards apart: nothing when there is one
 * shard, `s<index>-` otherwise (the page's script builds its shard links the same way).
 */
function boardPrefix(shard: number, shards: number): string {
  return shards === 1 ? '' : `s${shard}-`;
}

/**
 * The fleet at a glance, as the page and its stream send it: live members; per queue its counts
 * and jobs finished per minute; per cache the fleet's hit ratio over the window.
 */
async function snapshot(deps: DashboardDeps): Promise<unknown> {
  const now = Date.now();
  const { caches, redis, prefix } = deps.cacheStats;
  const [members, queues, cacheReports] = await Promise.all([
    Promise.all(FLEET_GROUPS.map(async (group) => [group, await deps.membership.members(group)] as const)),
    Promise.all(deps.catalog.queues.map((q) => readQueueOverview(deps.producer.shardsOf(q.name), WINDOW_MINUTES, now))),
    Promise.all(
      caches.map(async (cache) => {
        const { name, l1Hits, l1Entries } = cache.stats();
        const points = await readCacheStats(redis, prefix, name, WINDOW_MINUTES);
        const hits = sum(points.map((p) => p.hits));
        const misses = sum(points.map((p) => p.misses));
        const invalidations = sum(points.map((p) => p.invalidations));
        return {
          name,
          hits,
          misses,
          invalidations,
          hitRatio: hits + misses === 0 ? null : hits / (hits + misses),
          l1Hits,
          l1Entries,
        };
      }),
    ),
  ]);
  return {
    at: new Date(now).toISOString(),
    windowMinutes: WINDOW_MINUTES,
    members: Object.fromEntries(members),
    queues,
    caches: cacheReports,
  };
}

/**
 * The snapshot the open streams send: every stream of this process shares one read of Redis
 * per half refresh interval, however many dashboards are open.
 */
function sharedSnapshot(deps: DashboardDeps): () => Promise<unknown> {
  let latest: { readonly at: number; readonly value: Promise<unknown> } | undefined;
  return () => {
    const now = Date.now();
    if (!latest || now - latest.at >= UPDATE_EVERY_MS / 2) {
      const value = snapshot(deps);
      latest = { at: now, value };
      // A failed read is not shared: the next stream to ask tries again.
      value.catch(() => {
        if (latest?.value === value) latest = undefined;
      });
    }
    return latest.value;
  };
}

/**
 * /dashboard: the fleet overview (members, queues, caches, updated live over Server-Sent Events)
 * and, under /dashboard/jobs, bull-board for inspecting jobs and, as DASHBOARD_ACTIONS allows,
 * acting on them (retry, promote and remove by default). Behind the admin credentials; no routes
 * at all while the dashboard is off.
 */
export function dashboardRoutes(deps: DashboardDeps): Router {
  const router = Router();
  if (deps.access.access === 'off') return router;
  router.use('/dashboard', requireAdmin(deps.access), sameOriginChanges);

  const board = new ExpressAdapter();
  board.setBasePath('/dashboard/jobs');
  createBullBoard({
    // bull-board shows BullMQ queues: a sharded queue appears once per shard, told apart by its index.
    queues: deps.catalog.queues.flatMap((q) => {
      const shards = deps.producer.shardsOf(q.name);
      if (shards.length === 1) return [new BullMQAdapter(shards[0])];
      return shards.map(
        (queue, index) =>
          new BullMQAdapter(queue, {
            prefix: boardPrefix(index, shards.length),
            displayName: `${q.name} (shard ${index})`,
          }),
      );
    }),
    serverAdapter: board,
  });
  router.use('/dashboard/jobs/api', boardActionGuard(deps.actions));
  router.use('/dashboard/jobs', board.getRouter() as RequestHandler);

  router.get('/dashboard', inlineScriptPolicy([DASHBOARD_SCRIPT_HASH]), async (_req, res) => {
    res
      .set('cache-control', 'no-store')
      .type('html')
      .send(renderDashboard(await snapshot(deps)));
  });

  // Search by id: a job id names its queue and shard, so the job's page in bull-board is one redirect away.
  router.get('/dashboard/find', inlineScriptPolicy([DASHBOARD_SCRIPT_HASH]), async (req, res) => {
    const id = typeof req.query['id'] === 'string' ? req.query['id'].trim() : '';
    const job = await deps.producer.jobById(id);
    if (job?.id !== undefined) {
      const shards = deps.producer.shardsOf(job.queueName);
      const shard = shards.findIndex((queue) => queue.qualifiedName === job.queueQualifiedName);
      const board = `${boardPrefix(Math.max(0, shard), shards.length)}${job.queueName}`;
      res.redirect(303, `/dashboard/jobs/queue/${encodeURIComponent(board)}/${encodeURIComponent(job.id)}`);
      return;
    }
    res
      .status(404)
      .set('cache-control', 'no-store')
      .type('html')
      .send(renderDashboard(await snapshot(deps), `No job with the id “${id}” (finished jobs expire).`));
  });

  const streamSnapshot = sharedSnapshot(deps);
  router.get('/dashboard/events', (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    const send = async (): Promise<void> => {
      try {
        const snapshot = await streamSnapshot();
        if (closed) return;
        res.write(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
      } catch {
        if (closed) return;
        res.write(': redis unavailable, retrying\n\n');
      }
      // The client may have left while the snapshot was read: no next round then.
      if (!closed) timer = setTimeout(() => void send(), UPDATE_EVERY_MS);
    };
    const untrack = deps.trackStream(() => res.end());
    whenResponseCloses(res, () => {
      closed = true;
      clearTimeout(timer);
      untrack();
    });
    void send();
  });
  return router;
}
