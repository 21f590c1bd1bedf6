import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import express, { Router, type Request } from 'express';
import { z } from 'zod';
import type { GroupMembership } from '@flotilla/coordination';
import { PROFILE_KINDS, ProfileRefusedError, isTimed, type ProfileDesk } from '@flotilla/profiling';
import { HttpProblem } from '../problems.js';
import { requireAdmin, sameOriginChanges, type AdminAccess } from './admin-access.js';
import { FLEET_GROUPS } from './fleet.js';
import { requireJson } from './request-checks.js';
import { validateBody } from './validate-body.js';

/** What the profiling routes need. */
export interface AdminProfileRoutesDeps {
  readonly access: AdminAccess;
  readonly desk: ProfileDesk;
  readonly membership: GroupMembership;
  /** PROFILE_MAX_SECONDS; requests name their length in seconds. */
  readonly maxMs: number;
}

const DEFAULT_SECONDS = 10;
// Member ids are short tokens; anything else cannot name a process.
const PROCESS_ID = /^[\w.-]{1,128}$/;
const PROFILE_ID = /^[\w-]{1,64}$/;

function profileBody(maxSeconds: number) {
  return z
    .strictObject({
      kind: z.enum(PROFILE_KINDS, `one of ${PROFILE_KINDS.join(', ')}`),
      seconds: z
        .int(`a whole number of seconds from 1 to ${maxSeconds}`)
        .min(1)
        .max(maxSeconds, `at most ${maxSeconds} (PROFILE_MAX_SECONDS)`)
        .optional(),
    })
    .refine((body) => isTimed(body.kind) || body.seconds === undefined, {
      path: ['seconds'],
      message: 'a heap snapshot is one instant: leave seconds out',
    });
}

function profileIdOf(req: Request): string {
  const id = String(req.params['profileId']);
  if (!PROFILE_ID.test(id)) throw new HttpProblem('profile-not-found', 'there is no profile with this id');
  return id;
}

const statusLinks = (id: string) => ({ self: `/api/admin/profiles/${id}`, file: `/api/admin/profiles/${id}/file` });

/**
 * Profiles of live processes, for the dashboard and `flotilla profile`: POST asks a process of
 * the fleet (any web or worker, whichever replica takes this request) for a CPU profile, heap
 * snapshot or sampling heap profile and answers 202 with the profile's address; GET follows its
 * state; GET …/file downloads it once done. Behind the admin credentials; absent while the
 * dashboard is off.
 */
export function adminProfileRoutes(deps: AdminProfileRoutesDeps): Router {
  const router = Router();
  if (deps.access.access === 'off') return router;
  router.use('/api/admin', requireAdmin(deps.access), sameOriginChanges);
  const json = express.json({ limit: 1024, strict: true, type: ['application/json', 'application/*+json'] });
  const body = profileBody(Math.floor(deps.maxMs / 1000));

  router.post('/api/admin/processes/:processId/profiles', requireJson, json, async (req, res) => {
    const processId = String(req.params['processId']);
    const { kind, seconds } = validateBody(body, req.body, 'profile request');
    const known =
      PROCESS_ID.test(processId) &&
      (await Promise.all(FLEET_GROUPS.map((group) => deps.membership.members(group))))
        .flat()
        .some((member) => member.id === processId);
    if (!known)
      throw new HttpProblem(
        'process-not-found',
        `there is no live process with the id "${processId}" (GET /api/members lists them)`,
      );
    let status;
    try {
      status = await deps.desk.request(processId, kind, seconds ?? DEFAULT_SECONDS);
    } catch (error) {
      if (error instanceof ProfileRefusedError) throw new HttpProblem(error.reason, error.message);
      throw error;
    }
    const links = statusLinks(status.id);
    res
      .status(202)
      .location(links.self)
      .set('cache-control', 'no-store')
      .json({ ...status, ...links });
  });

  router.get('/api/admin/profiles/:profileId', async (req, res) => {
    const status = await deps.desk.status(profileIdOf(req));
    if (!status)
      throw new HttpProblem(
        'profile-not-found',
        'there is no profile with this id (finished profiles expire after two minutes)',
      );
    res.set('cache-control', 'no-store').json({ ...status, ...statusLinks(status.id) });
  });

  router.get('/api/admin/profiles/:profileId/file', async (req, res) => {
    const id = profileIdOf(req);
    const file = await deps.desk.file(id);
    if (!file) {
      const status = await deps.desk.status(id);
      if (!status)
        throw new HttpProblem(
          'profile-not-found',
          'there is no profile with this id (finished profiles expire after two minutes)',
        );
      throw new HttpProblem(
        'profile-not-ready',
        `the profile is ${status.state}${status.error ? `: ${status.error}` : ''}`,
      );
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': String(file.bytes),
      'content-disposition': `attachment; filename="${file.fileName}"`,
      'cache-control': 'no-store',
    });
    // A chunk that expired mid-way ends the response short of its length: the client sees it cut off.
    await pipeline(Readable.from(file.chunks), res).catch(() => res.destroy());
  });
  return router;
}
