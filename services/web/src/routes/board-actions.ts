import type { RequestHandler } from 'express';
import type { BoardAction } from '@flotilla/config';
import { HttpProblem } from '../problems.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

// bull-board's API routes that change something (its routes.js), by the kind of action they are;
// the path is relative to the board's /api. Matched in order: the first pattern that fits decides.
const ACTION_ROUTES: readonly (readonly [RegExp, BoardAction])[] = [
  [/^\/queues\/[^/]+\/[^/]+\/retry$/, 'retry'],
  [/^\/queues\/[^/]+\/retry\/[^/]+$/, 'retry'],
  [/^\/queues\/[^/]+\/[^/]+\/promote$/, 'promote'],
  [/^\/queues\/[^/]+\/promote$/, 'promote'],
  [/^\/queues\/[^/]+\/[^/]+\/clean$/, 'remove'],
  [/^\/queues\/[^/]+\/[^/]+\/remove-unprocessed-children$/, 'remove'],
  [/^\/queues\/(?:[^/]+\/)?(?:pause|resume)$/, 'pause'],
  [/^\/queues\/[^/]+\/clean\/[^/]+$/, 'clean'],
  [/^\/metrics\/history\/purge$/, 'clean'],
  [/^\/queues\/[^/]+\/empty$/, 'empty'],
  [/^\/queues\/[^/]+\/obliterate$/, 'obliterate'],
  [/^\/queues\/[^/]+\/add$/, 'add'],
  [/^\/queues\/[^/]+\/[^/]+\/(?:update-data|delay|priority)$/, 'edit'],
  [/^\/queues\/[^/]+\/concurrency$/, 'concurrency'],
  [/^\/queues\/[^/]+\/rate-limit(?:\/release)?$/, 'rate-limit'],
  [/^\/queues\/[^/]+\/job-schedulers\//, 'schedulers'],
];

/** The kind of a changing bull-board API request, or undefined for one this list does not know. */
export function boardActionOf(apiPath: string): BoardAction | undefined {
  return ACTION_ROUTES.find(([pattern]) => pattern.test(apiPath))?.[1];
}

/**
 * Middleware for bull-board's /api: lets through reads and the changes `enabled` lists, and
 * refuses every other change with 403, those a newer bull-board adds included (deny by default).
 */
export function boardActionGuard(enabled: readonly BoardAction[]): RequestHandler {
  const allowed = new Set(enabled);
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const action = boardActionOf(req.path);
    if (action === undefined || !allowed.has(action)) {
      throw new HttpProblem(
        'action-disabled',
        `this dashboard action (${action ?? 'unknown'}) is turned off; DASHBOARD_ACTIONS lists the ones allowed`,
      );
    }
    next();
  };
}
