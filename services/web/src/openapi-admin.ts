import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
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
      200: { description: 'One page of jobs', content: json(z.object({ queue: z.string(), state: z.enum(SNAPSHOT_STATES), total: z.int(), jobs: z.array(job) })) },
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
    responses: { 200: { description: 'Retried', content: json(job) }, ...problems('job-not-found', 'job-not-failed'), ...auth },
  });
  registry.registerPath({
    method: 'post',
    path: '/api/admin/queues/{queue}/retry-failed',
    summary: "Move every failed job of a queue back to waiting",
    tags: ['admin'],
    security,
    request: { params: queueParam },
    responses: { 200: { description: 'How many were retried', content: json(z.object({ queue: z.string(), retried: z.int() })) }, ...problems('not-found'), ...auth },
  });
}
