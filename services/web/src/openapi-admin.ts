import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { PROFILE_KINDS } from '@flotilla/profiling';
import { SNAPSHOT_STATES } from '@flotilla/queue';
import { z } from 'zod';
import { problems } from './openapi-problems.js';

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

/** The admin API (behind ADMIN_TOKEN / ADMIN_BASIC_AUTH; absent while the dashboard is off). */
export function registerAdminPaths(registry: OpenAPIRegistry, job: z.ZodType): void {
  const security = [{ admin: [] }];
  const queueParam = z.object({ queue: z.string().describe('A declared queue') });
  const auth = problems('unauthorized', 'cross-site-request', 'service-unavailable');

  registry.registerPath({
    method: 'get',
    path: '/api/admin/queues/{queue}/jobs',
    summary: "A queue's jobs in one state, newest first",
    tags: ['admin'],
    security,
    request: {
      params: queueParam,
      query: z.object({
        state: z.enum(SNAPSHOT_STATES).optional().describe('Default failed'),
        limit: z.string().regex(/^\d+$/).optional().describe('1 to 500, default 20'),
        offset: z.string().regex(/^\d+$/).optional(),
      }),
    },
    responses: {
      200: {
        description: 'One page of jobs',
        content: json(
          z.object({ queue: z.string(), state: z.enum(SNAPSHOT_STATES), total: z.int(), jobs: z.array(job) }),
        ),
      },
      ...problems('not-found', 'validation-failed'),
      ...auth,
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/api/admin/jobs/{id}/retry',
    summary: 'Move a failed job back to waiting',
    tags: ['admin'],
    security,
    request: { params: z.object({ id: z.string() }) },
    responses: {
      200: { description: 'Retried', content: json(job) },
      ...problems('job-not-found', 'job-not-failed'),
      ...auth,
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/api/admin/queues/{queue}/retry-failed',
    summary: 'Move every failed job of a queue back to waiting',
    tags: ['admin'],
    security,
    request: { params: queueParam },
    responses: {
      200: { description: 'How many were retried', content: json(z.object({ queue: z.string(), retried: z.int() })) },
      ...problems('not-found'),
      ...auth,
    },
  });

  const profileStatus = z.object({
    id: z.string(),
    process: z.string().describe('The fleet member id of the profiled process'),
    kind: z.enum(PROFILE_KINDS),
    seconds: z.int().nullable().describe('How long it records; null for a heap snapshot'),
    state: z.enum(['requested', 'recording', 'uploading', 'done', 'failed']),
    requestedAt: z.iso.datetime(),
    startedAt: z.iso.datetime().optional(),
    bytes: z.int().optional().describe("The file's size, once recorded"),
    uploadedBytes: z.int().optional(),
    error: z.string().optional().describe('Why it failed'),
    fileName: z.string(),
    self: z.string(),
    file: z.string().describe('Where to download the file once done'),
  });
  const profileParam = z.object({ profileId: z.string() });
  registry.registerPath({
    method: 'post',
    path: '/api/admin/processes/{processId}/profiles',
    summary: 'Ask a live process for a CPU profile, heap snapshot or sampling heap profile',
    description: 'A heap snapshot stops the process while it is taken. The file is kept for two minutes once done.',
    tags: ['admin'],
    security,
    request: {
      params: z.object({ processId: z.string().describe('A fleet member id (GET /api/members)') }),
      body: {
        content: json(
          z.strictObject({
            kind: z.enum(PROFILE_KINDS),
            seconds: z
              .int()
              .min(1)
              .optional()
              .describe('cpu and heap-sampling: 1 to PROFILE_MAX_SECONDS, default 10; not for heap-snapshot'),
          }),
        ),
      },
    },
    responses: {
      202: { description: 'Asked; follow the Location', content: json(profileStatus) },
      ...problems(
        'process-not-found',
        'profile-in-progress',
        'process-unreachable',
        'validation-failed',
        'malformed-json',
        'unsupported-media-type',
        'payload-too-large',
      ),
      ...auth,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/admin/profiles/{profileId}',
    summary: "A profile's state",
    tags: ['admin'],
    security,
    request: { params: profileParam },
    responses: {
      200: { description: 'Its state', content: json(profileStatus) },
      ...problems('profile-not-found'),
      ...auth,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/admin/profiles/{profileId}/file',
    summary: 'Download a done profile (.cpuprofile, .heapsnapshot or .heapprofile, for Chrome DevTools or speedscope)',
    tags: ['admin'],
    security,
    request: { params: profileParam },
    responses: {
      200: { description: 'The file, as an attachment', content: { 'application/json': { schema: z.unknown() } } },
      ...problems('profile-not-found', 'profile-not-ready'),
      ...auth,
    },
  });
}
