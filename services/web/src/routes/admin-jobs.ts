import { Router, type Request } from 'express';
import { SNAPSHOT_STATES, type JobAdmin, type ListableState } from '@flotilla/queue';
import { HttpProblem } from '../problems.js';
import { requireAdmin, sameOriginChanges, type AdminAccess } from './admin-access.js';
import { integerQuery, jobIdOf } from './request-checks.js';

/** What the admin job routes need. */
export interface AdminJobRoutesDeps {
  readonly access: AdminAccess;
  readonly admin: JobAdmin;
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 500;
const MAX_OFFSET = 1_000_000;

function stateOf(req: Request): ListableState {
  const raw: unknown = req.query['state'] ?? 'failed';
  const state = SNAPSHOT_STATES.find((s) => s === raw);
  if (!state) {
    throw new HttpProblem('validation-failed', 'query parameter "state" is invalid', [
      { pointer: 'state', detail: `expected one of ${SNAPSHOT_STATES.join(', ')}` },
    ]);
  }
  return state;
}

/**
 * The admin API the command line drives (the dashboard uses bull-board's own): list a queue's
 * jobs by state, retry one failed job or all of a queue's. Behind the admin credentials, like
 * the dashboard, and absent while the dashboard is off.
 */
export function adminJobRoutes(deps: AdminJobRoutesDeps): Router {
  const router = Router();
  if (deps.access.access === 'off') return router;
  router.use('/api/admin', requireAdmin(deps.access), sameOriginChanges);

  router.get('/api/admin/queues/:queue/jobs', async (req, res) => {
    const state = stateOf(req);
    const limit = integerQuery(req, 'limit', 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
    const offset = integerQuery(req, 'offset', 0, MAX_OFFSET) ?? 0;
    const page = await deps.admin.list(String(req.params['queue']), state, offset, limit);
    if (!page) throw new HttpProblem('not-found', `there is no queue "${String(req.params['queue'])}"`);
    res.set('cache-control', 'no-store').json(page);
  });

  router.post('/api/admin/jobs/:id/retry', async (req, res) => {
    const result = await deps.admin.retry(jobIdOf(req));
    if (result.outcome !== 'retried') {
      throw result.outcome === 'not-found'
        ? new HttpProblem('job-not-found', 'there is no job with this id')
        : new HttpProblem('job-not-failed', 'only a failed job can be retried');
    }
    res.set('cache-control', 'no-store').json(result.job);
  });

  router.post('/api/admin/queues/:queue/retry-failed', async (req, res) => {
    const queue = String(req.params['queue']);
    const retried = await deps.admin.retryAllFailed(queue);
    if (retried === undefined) throw new HttpProblem('not-found', `there is no queue "${queue}"`);
    res.set('cache-control', 'no-store').json({ queue, retried });
  });
  return router;
}
