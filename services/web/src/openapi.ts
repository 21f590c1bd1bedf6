import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { JobCatalog } from '@flotilla/queue';
import { z } from 'zod';
import { registerAdminPaths } from './openapi-admin.js';
import { registerFleetPaths } from './openapi-fleet.js';
import { registerSitePaths } from './openapi-site.js';
import { problems } from './openapi-problems.js';

const JobState = z
  .enum(['waiting', 'prioritized', 'waiting-children', 'delayed', 'active', 'completed', 'failed', 'unknown'])
  .meta({ id: 'JobState' });

const JobAccepted = z
  .object({
    id: z.string(),
    type: z.string(),
    state: JobState,
    links: z.object({ self: z.string(), events: z.string() }),
  })
  .meta({ id: 'JobAccepted' });

function jobView(results: readonly z.ZodType[]): z.ZodType {
  const [first, second, ...rest] = results;
  const result = first && second ? z.union([first, second, ...rest]) : (first ?? z.unknown());
  return z
    .object({
      id: z.string(),
      type: z.string(),
      queue: z.string(),
      state: JobState,
      progress: z.union([z.number(), z.string(), z.boolean(), z.record(z.string(), z.unknown())]),
      attemptsMade: z.int(),
      maxAttempts: z.int(),
      result: result.optional().describe("Present when completed; the job type's result"),
      error: z.string().optional().describe('Reason of the last failed attempt'),
      createdAt: z.iso.datetime(),
      startedAt: z.iso.datetime().optional(),
      finishedAt: z.iso.datetime().optional(),
    })
    .meta({ id: 'Job' });
}

const Health = z
  .object({
    status: z.string(),
    draining: z.boolean().optional(),
    redis: z.boolean().optional(),
    redisData: z
      .enum(['intact', 'lost', 'unknown'])
      .optional()
      .describe(
        'whether Redis still holds the epoch this process started with; lost after a flush or a restart without data',
      ),
  })
  .meta({ id: 'Health' });

const jobIdParam = z.object({ id: z.string().describe('Job id as returned in Location') });

// Every /api operation may meet the per-client request limit, and event streams the stream cap:
// added here once rather than in each route's list.
class ApiRegistry extends OpenAPIRegistry {
  override registerPath(route: RouteConfig): void {
    if (!route.path.startsWith('/api/')) {
      super.registerPath(route);
      return;
    }
    const limits = route.path.endsWith('/events')
      ? problems('rate-limited', 'too-many-streams')
      : problems('rate-limited');
    super.registerPath({ ...route, responses: { ...route.responses, ...limits } });
  }
}

/** The OpenAPI 3.1 document of the HTTP API, generated from the job contracts' zod schemas. */
export function buildOpenApiDocument(catalog: JobCatalog): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new ApiRegistry();
  const title = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);
  // `.meta({ id })` makes each schema a named component wherever it is used.
  const JobView = jobView(catalog.publicContracts.map((c) => c.result.meta({ id: `${title(c.name)}Result` })));

  for (const contract of catalog.publicContracts) {
    const input = contract.input.meta({ id: `${title(contract.name)}Input` });
    registry.registerPath({
      method: 'post',
      path: `/api/jobs/${contract.name}`,
      summary: `Submit a ${contract.name} job`,
      description: `${contract.description} Runs on queue "${contract.queue}". The result is a ${title(contract.name)}Result.`,
      tags: ['jobs'],
      request: {
        headers: z.object({
          'Idempotency-Key': z.string().min(1).max(255).optional().describe('The same key always returns the same job'),
        }),
        query: z.object({
          delay: z.string().regex(/^\d+$/).optional().describe('Milliseconds to wait before the job may run'),
        }),
        body: { required: true, content: { 'application/json': { schema: input } } },
      },
      responses: {
        202: {
          description: 'Accepted; poll Location or stream its events',
          headers: z.object({ Location: z.string(), 'Idempotent-Replayed': z.literal('true').optional() }),
          content: { 'application/json': { schema: JobAccepted } },
        },
        ...problems(
          'malformed-json',
          'malformed-body',
          'invalid-header',
          'payload-too-large',
          'unsupported-media-type',
          'validation-failed',
          'idempotency-key-reused',
          'service-unavailable',
        ),
      },
    });
  }

  registry.registerPath({
    method: 'get',
    path: '/api/jobs/{id}',
    summary: 'Read a job',
    tags: ['jobs'],
    request: {
      params: jobIdParam,
      query: z.object({
        wait: z.string().regex(/^\d+$/).optional().describe('Seconds to long-poll for the job to finish'),
      }),
    },
    responses: {
      200: { description: 'The job', content: { 'application/json': { schema: JobView } } },
      ...problems('job-not-found', 'validation-failed', 'service-unavailable'),
    },
  });
  registry.registerPath({
    method: 'delete',
    path: '/api/jobs/{id}',
    summary: 'Cancel a job that has not started',
    tags: ['jobs'],
    request: { params: jobIdParam },
    responses: {
      200: {
        description: 'Cancelled and removed',
        content: { 'application/json': { schema: z.object({ id: z.string(), state: z.literal('cancelled') }) } },
      },
      ...problems('job-not-found', 'job-active', 'job-finished', 'service-unavailable'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/jobs/{id}/events',
    summary: "Stream a job's events (Server-Sent Events)",
    description:
      'Events: state (snapshot), active, progress, retrying, completed, failed, cancelled. Event ids are shared by all replicas: reconnect with Last-Event-ID to resume. The stream ends with the job; comments are sent as heartbeats.',
    tags: ['jobs'],
    request: { params: jobIdParam, headers: z.object({ 'Last-Event-ID': z.string().optional() }) },
    responses: {
      200: { description: 'An event stream', content: { 'text/event-stream': { schema: z.string() } } },
      ...problems('job-not-found', 'service-unavailable'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness',
    tags: ['operations'],
    responses: { 200: { description: 'The process is alive', content: { 'application/json': { schema: Health } } } },
  });
  registry.registerPath({
    method: 'get',
    path: '/readyz',
    summary: 'Readiness',
    tags: ['operations'],
    responses: {
      200: { description: 'Ready for traffic', content: { 'application/json': { schema: Health } } },
      503: {
        description: 'Draining, Redis unreachable, or Redis lost its data since this process started',
        content: { 'application/json': { schema: Health } },
      },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    tags: ['operations'],
    responses: {
      200: {
        description: 'OpenAPI 3.1 document',
        content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
      },
    },
  });

  registerSitePaths(registry);
  registerFleetPaths(registry);
  registry.registerComponent('securitySchemes', 'admin', {
    type: 'http',
    scheme: 'bearer',
    description: 'ADMIN_TOKEN, or HTTP basic with ADMIN_BASIC_AUTH',
  });
  registerAdminPaths(registry, JobView);

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Flotilla API',
      version: '0.1.0',
      description: 'Submit jobs, follow them, cancel them. Errors are RFC 9457 problem details.',
    },
  });
}
