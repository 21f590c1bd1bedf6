import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { checkResult, checkableUrl } from '@flotilla/jobs';
import { z } from 'zod';
import { problems } from './openapi-problems.js';

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

/** Fleet membership and the partitioned URL check. */
export function registerFleetPaths(registry: OpenAPIRegistry): void {
  const Member = z
    .object({
      id: z.string(),
      capabilities: z
        .record(z.string(), z.string())
        .describe('service, version, host, pid, startedAt, and queues/concurrency for workers'),
      expiresAt: z.int().describe('When it counts as gone unless it heartbeats again (epoch ms)'),
    })
    .meta({ id: 'Member' });
  const Targets = z.strictObject({ urls: z.array(checkableUrl).min(1).max(100) }).meta({ id: 'UrlCheckTargets' });
  const Check = checkResult.extend({ checkedBy: z.string(), checkedAt: z.string(), period: z.int() });
  const Report = z.object({
    period: z.int(),
    targets: z.int(),
    checked: z.int(),
    up: z.int(),
    unchecked: z.int(),
    reportedAt: z.string(),
  });
  const body = { body: { required: true, content: json(Targets) } };
  const bodyProblems = problems(
    'malformed-json',
    'malformed-body',
    'payload-too-large',
    'unsupported-media-type',
    'validation-failed',
    'service-unavailable',
  );

  registry.registerPath({
    method: 'get',
    path: '/api/members',
    summary: 'The live processes of each service',
    tags: ['fleet'],
    responses: {
      200: {
        description: 'Members by group (web, worker)',
        content: json(z.object({ groups: z.record(z.string(), z.array(Member)) })),
      },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/url-checks',
    summary: 'Targets of the partitioned URL check, their latest results and the round reports',
    tags: ['fleet'],
    request: {
      query: z.object({
        reports: z.int().min(0).max(100).optional().describe('How many reports, newest first (default 10)'),
      }),
    },
    responses: {
      200: {
        description: 'Targets and reports',
        content: json(
          z.object({
            targets: z.array(z.object({ url: z.string(), latest: Check.nullable() })),
            reports: z.array(Report),
          }),
        ),
      },
      ...problems('validation-failed', 'service-unavailable'),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/api/url-checks/targets',
    summary: 'Add URLs to check every round (all or none)',
    tags: ['fleet'],
    request: body,
    responses: {
      200: { description: 'Added', content: json(z.object({ added: z.int(), targets: z.int() })) },
      ...bodyProblems,
    },
  });
  registry.registerPath({
    method: 'delete',
    path: '/api/url-checks/targets',
    summary: 'Stop checking URLs',
    tags: ['fleet'],
    request: body,
    responses: { 200: { description: 'Removed', content: json(z.object({ removed: z.int() })) }, ...bodyProblems },
  });
}
