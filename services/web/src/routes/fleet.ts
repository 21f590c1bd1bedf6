import express, { Router } from 'express';
import { z } from 'zod';
import type { GroupMembership } from '@flotilla/coordination';
import { checkableUrl } from '@flotilla/jobs';
import { MAX_TARGETS, type UrlCheckStore } from '@flotilla/url-checker';
import { HttpProblem } from '../problems.js';
import { integerQuery, requireJson } from './request-checks.js';
import { validateBody } from './validate-body.js';

/** What the fleet routes read and write. */
export interface FleetDeps {
  readonly membership: GroupMembership;
  readonly urlChecks: UrlCheckStore;
  readonly bodyLimitBytes: number;
}

/** The groups every process joins: one per service. */
export const FLEET_GROUPS = ['web', 'worker'] as const;

const MAX_PER_REQUEST = 100;
const targetsBody = z.strictObject({ urls: z.array(checkableUrl).min(1).max(MAX_PER_REQUEST) });

/**
 * GET /api/members: the live processes of each service, for the dashboard. GET /api/url-checks:
 * the targets of the partitioned URL check with their latest result, and the round reports.
 * POST and DELETE /api/url-checks/targets add and remove targets (all of a request or none).
 */
export function fleetRoutes(deps: FleetDeps): Router {
  const router = Router();
  const json = express.json({ limit: deps.bodyLimitBytes, strict: false, type: ['application/json', 'application/*+json'] });

  router.get('/api/members', async (_req, res) => {
    const groups = await Promise.all(FLEET_GROUPS.map(async (group) => [group, await deps.membership.members(group)] as const));
    res.set('cache-control', 'no-store').json({ groups: Object.fromEntries(groups) });
  });

  router.get('/api/url-checks', async (req, res) => {
    const reports = integerQuery(req, 'reports', 0, 100) ?? 10;
    const [targets, latest, recent] = await Promise.all([deps.urlChecks.targets(), deps.urlChecks.latest(), deps.urlChecks.reports(reports)]);
    res.set('cache-control', 'no-store').json({ targets: targets.map((url) => ({ url, latest: latest[url] ?? null })), reports: recent });
  });

  router.post('/api/url-checks/targets', requireJson, json, async (req, res) => {
    const { urls } = validateBody(targetsBody, req.body, 'target list');
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
