import type { IncomingMessage } from 'node:http';
import { Router, type RequestHandler } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Cache } from '@flotilla/cache';
import type { WebConfig } from '@flotilla/config';
import type { GroupMembership } from '@flotilla/coordination';
import { metricsAuthorized } from '@flotilla/metrics';
import { snapshotQueue, type JobCatalog, type JobProducer } from '@flotilla/queue';
import { HttpProblem } from '../problems.js';
import { inlineScriptPolicy } from '../security-headers.js';
import { DASHBOARD_SCRIPT_HASH, renderDashboard } from './dashboard-page.js';
import { FLEET_GROUPS } from './fleet.js';

/** What the dashboard shows and drives. */
export interface DashboardDeps {
  readonly access: WebConfig['dashboard'];
  readonly catalog: JobCatalog;
  readonly producer: JobProducer;
  readonly membership: GroupMembership;
  readonly caches: readonly Pick<Cache<never>, 'stats'>[];
  /** Registers a long-lived stream to be closed at shutdown. */
  readonly trackStream: (close: () => void) => () => void;
}

const UPDATE_EVERY_MS = 2000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The fleet at a glance: live members, queue counts and cache hit ratios, as the page and its stream send it. */
async function snapshot(deps: DashboardDeps): Promise<unknown> {
  const now = Date.now();
  const [members, queues] = await Promise.all([
    Promise.all(FLEET_GROUPS.map(async (group) => [group, await deps.membership.members(group)] as const)),
    Promise.all(deps.catalog.queues.map((q) => snapshotQueue(deps.producer.queue(q.name), now))),
  ]);
  const caches = deps.caches.map((cache) => {
    const { name, hits, misses, l1Hits, invalidations } = cache.stats();
    return { name, hits, misses, l1Hits, invalidations, hitRatio: hits + misses === 0 ? null : hits / (hits + misses) };
  });
  return { at: new Date(now).toISOString(), members: Object.fromEntries(members), queues, caches };
}

function requireAdmin(access: DashboardDeps['access']): RequestHandler {
  return (req, _res, next) => {
    if (access.access === 'credentials' && !metricsAuthorized(access.auth, req)) {
      const challenge = access.auth.kind === 'basic' ? 'Basic realm="flotilla dashboard", charset="UTF-8"' : 'Bearer realm="flotilla dashboard"';
      throw new HttpProblem('unauthorized', 'the dashboard needs the admin credentials', undefined, { 'www-authenticate': challenge });
    }
    next();
  };
}

// CSRF: browsers label every request with where it came from (Sec-Fetch-Site, Origin); a change
// that another site's page makes a logged-in browser send is refused. Clients that are not
// browsers send neither header and cannot be tricked into sending credentials.
function crossSite(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = req.headers.origin;
  return origin !== undefined && (!URL.canParse(origin) || new URL(origin).host !== req.headers.host);
}

const sameOriginChanges: RequestHandler = (req, _res, next) => {
  if (!SAFE_METHODS.has(req.method) && crossSite(req)) {
    throw new HttpProblem('cross-site-request', 'dashboard actions must come from the dashboard itself');
  }
  next();
};

/**
 * /dashboard: the fleet overview (members, queues, caches, updated live over Server-Sent Events)
 * and, under /dashboard/jobs, bull-board for inspecting and acting on jobs (retry, remove,
 * promote, pause). Behind the admin credentials; no routes at all while the dashboard is off.
 */
export function dashboardRoutes(deps: DashboardDeps): Router {
  const router = Router();
  if (deps.access.access === 'off') return router;
  router.use('/dashboard', requireAdmin(deps.access), sameOriginChanges);

  const board = new ExpressAdapter();
  board.setBasePath('/dashboard/jobs');
  createBullBoard({ queues: deps.catalog.queues.map((q) => new BullMQAdapter(deps.producer.queue(q.name))), serverAdapter: board });
  router.use('/dashboard/jobs', board.getRouter() as RequestHandler);

  router.get('/dashboard', inlineScriptPolicy([DASHBOARD_SCRIPT_HASH]), async (_req, res) => {
    res.set('cache-control', 'no-store').type('html').send(renderDashboard(await snapshot(deps)));
  });

  router.get('/dashboard/events', (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    let timer: NodeJS.Timeout | undefined;
    const send = async (): Promise<void> => {
      try {
        res.write(`event: snapshot\ndata: ${JSON.stringify(await snapshot(deps))}\n\n`);
      } catch {
        res.write(': redis unavailable, retrying\n\n');
      }
      if (!res.writableEnded) timer = setTimeout(() => void send(), UPDATE_EVERY_MS);
    };
    const untrack = deps.trackStream(() => res.end());
    req.on('close', () => {
      clearTimeout(timer);
      untrack();
    });
    void send();
  });
  return router;
}
