import express, { Router, type Request } from 'express';
import { z } from 'zod';
import type { GroupMembership } from '@flotilla/coordination';
import { checkableUrl } from '@flotilla/jobs';
import { MAX_TARGETS, urlRefusals, type UrlCheckStore } from '@flotilla/url-checker';
import { HttpProblem } from '../problems.js';
import { requireAdmin, sameOriginChanges, type AdminAccess } from './admin-access.js';
import { integerQuery, requireJson } from './request-checks.js';
import { validateBody } from './validate-body.js';

/** What the fleet routes read and write. */
export interface FleetDeps {
  readonly membership: GroupMembership;
  readonly urlChecks: UrlCheckStore;
  readonly bodyLimitBytes: number;
  /** Who may read the fleet (hosts, pids, versions, check targets): as for /api/queues, the metrics credentials when set. */
  readonly readAuthorized: (req: Request) => boolean;
  /** Who may change the URL-check targets: as for the admin API. */
  readonly access: AdminAccess;
  /** URL_CHECK_ALLOW: a target the workers' checker would refuse is refused when added. */
  readonly urlCheckAllow: readonly string[];
}

/** The groups every process joins: one per service. */
export const FLEET_GROUPS = ['web', 'worker'] as const;

const MAX_PER_REQUEST = 100;
const targetsBody = z.strictObject({ urls: z.array(checkableUrl).min(1).max(MAX_PER_REQUEST) });

/**
 * GET /api/members: the live processes of each service, for the dashboard. GET /api/url-checks:
 * the targets of the partitioned URL check with their latest result, and the round reports.
 * POST and DELETE /api/url-checks/targets add and remove targets (all of a request or none);
 * they need the admin credentials, like the admin API, and are absent while the dashboard is off.
 */
export function fleetRoutes(deps: FleetDeps): Router {
  const router = Router();
  const json = express.json({
    limit: deps.bodyLimitBytes,
    strict: false,
    type: ['application/json', 'application/*+json'],
  });
  const refusalOf = urlRefusals(deps.urlCheckAllow);
  const readable = (req: Request): void => {
    if (!deps.readAuthorized(req)) throw new HttpProblem('unauthorized', 'this endpoint needs the metrics credentials');
  };

  router.get('/api/members', async (req, res) => {
    readable(req);
    const groups = await Promise.all(
      FLEET_GROUPS.map(async (group) => [group, await deps.membership.members(group)] as const),
    );
    res.set('cache-control', 'no-store').json({ groups: Object.fromEntries(groups) });
  });

  router.get('/api/url-checks', async (req, res) => {
    readable(req);
    const reports = integerQuery(req, 'reports', 0, 100) ?? 10;
    const [targets, latest, recent] = await Promise.all([
      deps.urlChecks.targets(),
      deps.urlChecks.latest(),
      deps.urlChecks.reports(reports),
    ]);
    res
      .set('cache-control', 'no-store')
      .json({ targets: targets.map((url) => ({ url, latest: latest[url] ?? null })), reports: recent });
  });

  if (deps.access.access === 'off') return router;
  router.use('/api/url-checks/targets', requireAdmin(deps.access), sameOriginChanges);

  router.post('/api/url-checks/targets', requireJson, json, async (req, res) => {
    const { urls } = validateBody(targetsBody, req.body, 'target list');
    const refused = urls.flatMap((url, index) => {
      const refusal = refusalOf(url);
      return refusal ? [{ pointer: `#/urls/${index}`, detail: `not checked: ${refusal}` }] : [];
    });
    if (refused.length > 0) throw new HttpProblem('validation-failed', 'some targets would never be checked', refused);
    const added = await deps.urlChecks.addTargets([...new Set(urls)]);
    if (added < 0) {
      throw new HttpProblem('validation-failed', `at most ${MAX_TARGETS} URLs can be checked`, [
        { pointer: '#/urls', detail: `the targets would exceed ${MAX_TARGETS}` },
      ]);
    }
    res.json({ added, targets: (await deps.urlChecks.targets()).length });
  });

  router.delete('/api/url-checks/targets', requireJson, json, async (req, res) => {
    const { urls } = validateBody(targetsBody, req.body, 'target list');
    res.json({ removed: await deps.urlChecks.removeTargets([...new Set(urls)]) });
  });
  return router;
}
