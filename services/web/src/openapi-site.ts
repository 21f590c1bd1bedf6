import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { article, articleInput, comment, commentInput } from '@flotilla/articles';
import { z } from 'zod';
import { problems } from './openapi-problems.js';

const idParam = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d*$/)
    .describe('Article id'),
});
const etagHeader = z.object({ ETag: z.string().describe('Strong validator of this version') });
const html = { 'text/html': { schema: z.string() } };
const pageHeaders = z.object({
  ETag: z.string(),
  'X-Cache': z.enum(['HIT', 'MISS', 'STALE']).describe('Whether the full-page cache answered'),
});

/** The example domain's JSON API and pages, and the operations routes beside them. */
export function registerSitePaths(registry: OpenAPIRegistry): void {
  const ArticleInput = articleInput.meta({ id: 'ArticleInput' });
  const CommentInput = commentInput.meta({ id: 'CommentInput' });
  const Summary = z
    .object({ id: z.int(), title: z.string(), excerpt: z.string(), commentCount: z.int(), updatedAt: z.string() })
    .meta({ id: 'ArticleSummary' });
  const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

  registry.registerPath({
    method: 'get',
    path: '/api/articles',
    summary: 'List articles, newest first',
    tags: ['articles'],
    responses: {
      200: { description: 'Articles', content: json(z.object({ articles: z.array(Summary) })) },
      ...problems('service-unavailable'),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/api/articles',
    summary: 'Create an article',
    tags: ['articles'],
    request: { body: { required: true, content: json(ArticleInput) } },
    responses: {
      201: { description: 'Created', headers: etagHeader, content: json(article) },
      ...problems(
        'malformed-json',
        'malformed-body',
        'payload-too-large',
        'unsupported-media-type',
        'validation-failed',
        'service-unavailable',
      ),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/articles/{id}',
    summary: 'Read an article',
    description: 'Answers If-None-Match with 304 when the client holds the current version.',
    tags: ['articles'],
    request: { params: idParam, headers: z.object({ 'If-None-Match': z.string().optional() }) },
    responses: {
      200: { description: 'The article', headers: etagHeader, content: json(article) },
      304: { description: 'Not modified since the ETag the client sent' },
      ...problems('article-not-found', 'service-unavailable'),
    },
  });
  registry.registerPath({
    method: 'put',
    path: '/api/articles/{id}',
    summary: 'Replace an article (optimistic concurrency)',
    description: 'Requires If-Match with the ETag read (or *); the version check and the write are one atomic step.',
    tags: ['articles'],
    request: {
      params: idParam,
      headers: z.object({ 'If-Match': z.string() }),
      body: { required: true, content: json(ArticleInput) },
    },
    responses: {
      200: { description: 'Updated', headers: etagHeader, content: json(article) },
      ...problems(
        'article-not-found',
        'precondition-failed',
        'precondition-required',
        'malformed-json',
        'malformed-body',
        'payload-too-large',
        'unsupported-media-type',
        'validation-failed',
        'service-unavailable',
      ),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/articles/{id}/comments',
    summary: "An article's comments, oldest first",
    tags: ['articles'],
    request: { params: idParam },
    responses: {
      200: { description: 'Comments', content: json(z.object({ comments: z.array(comment) })) },
      ...problems('article-not-found', 'service-unavailable'),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/api/articles/{id}/comments',
    summary: 'Comment on an article',
    description:
      'Published at once; a background job checks it for spam. The pages showing the article are invalidated on every replica.',
    tags: ['articles'],
    request: { params: idParam, body: { required: true, content: json(CommentInput) } },
    responses: {
      201: { description: 'Published', content: json(comment) },
      ...problems(
        'article-not-found',
        'malformed-json',
        'malformed-body',
        'payload-too-large',
        'unsupported-media-type',
        'validation-failed',
        'service-unavailable',
      ),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/',
    summary: 'Home page (HTML, full-page cached)',
    tags: ['pages'],
    responses: {
      200: { description: 'The page', headers: pageHeaders, content: html },
      304: { description: 'Not modified' },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/articles/{id}',
    summary: 'Article page (HTML, full-page cached)',
    tags: ['pages'],
    request: { params: idParam },
    responses: {
      200: { description: 'The page', headers: pageHeaders, content: html },
      304: { description: 'Not modified' },
      ...problems('article-not-found'),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/articles/{id}/comments',
    summary: "The article page's comment form",
    tags: ['pages'],
    request: {
      params: idParam,
      body: { required: true, content: { 'application/x-www-form-urlencoded': { schema: CommentInput } } },
    },
    responses: {
      303: { description: 'Back to the article page' },
      ...problems('article-not-found', 'payload-too-large', 'unsupported-media-type', 'validation-failed'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/cache/stats',
    summary: 'Cache statistics: this process, and the fleet per minute',
    tags: ['operations'],
    request: { query: z.object({ minutes: z.string().regex(/^\d+$/).optional() }) },
    responses: {
      200: { description: 'Statistics per cache', content: json(z.record(z.string(), z.unknown())) },
      ...problems('validation-failed'),
    },
  });
  const counts = z.record(z.string(), z.int()).describe('Jobs per state');
  const oldestWaitingSeconds = z.number().describe('Age of the job that has waited longest; 0 when none waits');
  const ShardSnapshot = z
    .object({
      prefix: z.string().describe("The shard's key prefix, e.g. {flotilla-5072}"),
      counts,
      oldestWaitingSeconds,
      workers: z.int().describe("BullMQ workers connected to this shard's queue, fleet-wide"),
    })
    .meta({ id: 'ShardSnapshot' });
  const QueueSnapshot = z
    .object({
      name: z.string(),
      counts: counts.describe('Jobs per state, added up over the shards'),
      oldestWaitingSeconds: oldestWaitingSeconds.describe(
        'Age of the job that has waited longest on any shard; 0 when none waits',
      ),
      workers: z.int().describe('Worker processes consuming the queue (each consumes every shard), fleet-wide'),
      throughput: z
        .object({ completed: z.array(z.int()), failed: z.array(z.int()) })
        .describe('Jobs finished per minute, fleet-wide, oldest first; the last entry is the current minute'),
      shards: z
        .array(ShardSnapshot)
        .optional()
        .describe('Each shard in shard order; only for a queue spread over several (QUEUE_SHARDS > 1)'),
    })
    .meta({ id: 'QueueSnapshot' });
  registry.registerPath({
    method: 'get',
    path: '/api/queues',
    summary: 'Every queue: counts, oldest waiting job, workers, throughput (for autoscalers and the CLI)',
    tags: ['operations'],
    responses: {
      200: {
        description: 'Queues',
        content: json(z.object({ throughputMinutes: z.int(), queues: z.array(QueueSnapshot) })),
      },
      ...problems('unauthorized', 'service-unavailable'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/hirefire/{token}/info',
    summary: "The worker's job-queue latency for Heroku's HireFire add-on (needs HIREFIRE_TOKEN)",
    tags: ['operations'],
    request: { params: z.object({ token: z.string() }) },
    responses: {
      200: {
        description: 'Latency in seconds of the oldest waiting job',
        content: json(z.array(z.object({ name: z.literal('worker'), value: z.int() }))),
      },
      ...problems('not-found', 'service-unavailable'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/cache',
    summary: 'Cache statistics page',
    tags: ['operations'],
    responses: { 200: { description: 'The page', content: html }, ...problems('validation-failed') },
  });
}
