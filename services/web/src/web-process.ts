import { createServer, type Server } from 'node:http';
import type { WebConfig } from '@flotilla/config';
import { GroupMembership, ProcessVitals, processCapabilities } from '@flotilla/coordination';
import { catalog } from '@flotilla/jobs';
import type { Shutdown } from '@flotilla/lifecycle';
import {
  CacheMetrics,
  HttpMetrics,
  clusterMetricsSource,
  createMetricsRegistry,
  metricsAuthorized,
  metricsHandler,
  registerJobEventListeners,
  registerRedisConnections,
  registerRedisEpoch,
  registerRedisUp,
  startMetricsPush,
} from '@flotilla/metrics';
import { ProfileAgent, ProfileDesk } from '@flotilla/profiling';
import {
  JobEventHub,
  JobProducer,
  checkEvictionPolicy,
  ensureIdempotencySecret,
  joinQueueEpoch,
} from '@flotilla/queue';
import {
  AofDurability,
  RedisConnections,
  RedisMemoryGauge,
  isReachable,
  redactRedisUrl,
  waitForReady,
} from '@flotilla/redis';
import { serverRequestTracer, type Logger } from '@flotilla/telemetry';
import { UrlCheckStore } from '@flotilla/url-checker';
import { createApp } from './app.js';
import { buildContent } from './build-content.js';
import { answerClientError } from './client-error.js';
import { corsPolicy } from './cors-policy.js';
import { expressRoute } from './express-route.js';
import { FailedAuthGuard } from './failed-auth-guard.js';
import { answerError } from './problems.js';
import { ApiRateLimiter } from './rate-limiter.js';
import { SUBMISSION_ROUTE, SubmissionFastPath } from './submission-fast-path.js';
import { registerWebShutdown, type WebParts } from './web-shutdown.js';

const REDIS_BOOT_TIMEOUT_MS = 30_000;
// The window over which failed authentications are counted, and a blocked client waits.
const FAILED_AUTH_WINDOW_MS = 900_000;

/**
 * Starts one web process: connects to Redis, builds the app and listens; the shutdown steps are
 * registered first, in one place (web-shutdown.ts).
 */
export async function startWebProcess(config: WebConfig, logger: Logger, shutdown: Shutdown): Promise<Server> {
  const parts: WebParts = { streams: new Set() };
  registerWebShutdown(shutdown, parts, config.shutdown.drainDelayMs);
  const redis = (parts.redis = new RedisConnections({
    service: 'web',
    servers: { queue: config.redis.queueUrl, cache: config.redis.cacheUrl },
    // Commands on behalf of an HTTP request fail fast while Redis is down.
    commandRole: 'producer',
    allowSelfSignedTls: config.redis.allowSelfSignedTls,
    tlsCa: config.redis.tlsCa,
    onError: (connection, error) => logger.warn({ err: error.message, connection }, 'redis connection error'),
  }));

  const queueClient = redis.command('queue');
  await waitForReady(queueClient, REDIS_BOOT_TIMEOUT_MS);
  await checkEvictionPolicy(queueClient, config.queue.evictionPolicyCheck, logger);
  const epoch = await joinQueueEpoch(queueClient, config.queue.prefix);
  const retention = {
    completedMs: config.queue.completedRetentionMs,
    failedMs: config.queue.failedRetentionMs,
    count: config.queue.retentionCount,
    eventsMaxLen: config.queue.eventsMaxLen,
  };
  // WAITAOF blocks its connection until the next fsync (up to a second): on the shared one it
  // would hold up every cache read and heartbeat queued behind it.
  const submissions = config.durableSubmissions ? redis.dedicated('queue', 'durable-writes', 'command') : queueClient;
  await waitForReady(submissions, REDIS_BOOT_TIMEOUT_MS);
  const durability = config.durableSubmissions ? await AofDurability.detect(submissions) : undefined;
  if (durability)
    logger.info({ mode: await durability.mode() }, 'durable submissions: 202 only once the job is on disk');
  const memoryLimit =
    config.submissionMemoryLimit < 1
      ? { gauge: await RedisMemoryGauge.start(queueClient), maxRatio: config.submissionMemoryLimit }
      : undefined;
  parts.memoryGauge = memoryLimit?.gauge;
  const producer = (parts.producer = new JobProducer({
    catalog,
    connection: submissions,
    prefix: config.queue.prefix,
    shards: config.queue.shards,
    retention,
    idempotencySecret: await ensureIdempotencySecret(queueClient, config.queue.prefix, config.jobIdSecret),
    durability,
    memoryLimit,
  }));
  const events = (parts.events = new JobEventHub({
    queues: catalog.queues.map((q) => q.name),
    shards: producer.shards,
    // The first shard's keeps the name it had before queues could be sharded.
    blocking: (shard) =>
      redis.dedicated('queue', shard.index === 0 ? 'job-events' : `job-events-${shard.index}`, 'blocking'),
    reader: queueClient,
    logger,
  }));
  await events.waitUntilReady();
  const cacheRedis = redis.command('cache');
  await waitForReady(cacheRedis, REDIS_BOOT_TIMEOUT_MS);
  const content = (parts.content = await buildContent({
    config,
    logger,
    producer,
    dataRedis: queueClient,
    cacheRedis,
    subscriber: redis.subscriber('cache'),
    isDraining: () => shutdown.isDraining,
  }));

  const registry = createMetricsRegistry('web');
  const httpMetrics = new HttpMetrics(registry);
  const cacheMetrics = new CacheMetrics(registry);
  for (const cache of content.caches) cacheMetrics.observe(cache);
  registerRedisUp(registry, { queue: queueClient, cache: cacheRedis });
  registerRedisConnections(registry, () => redis.census());
  registerRedisEpoch(registry, { queue: epoch });
  registerJobEventListeners(registry, () => events.listenerCount);
  if (config.metrics.push) {
    parts.metricsPusher = startMetricsPush(
      registry,
      { url: config.metrics.push.url, intervalMs: config.metrics.push.intervalMs, job: 'flotilla-web' },
      (error) => logger.warn({ err: error.message }, 'pushing metrics failed'),
    );
  }

  const membership = new GroupMembership(queueClient, `${config.dataPrefix}fleet:`);
  const vitals = (parts.vitals = ProcessVitals.start());
  const capabilities = processCapabilities('web', config.release, { webConcurrency: String(config.webConcurrency) });
  const member = (parts.member = await membership.join('web', () => ({ ...capabilities, ...vitals.read() }), {
    ...config.membership,
    onError: (error) => logger.warn({ err: error.message }, 'membership heartbeat failed'),
  }));
  parts.profiler = await ProfileAgent.start({
    redis: cacheRedis,
    subscriber: redis.subscriber('cache'),
    prefix: config.profiling.prefix,
    processId: member.id,
    maxBytes: config.profiling.maxBytes,
    logger,
  });

  const { streams } = parts;
  const rateLimiter = (parts.rateLimiter = config.security.rateLimit
    ? new ApiRateLimiter({
        redis: cacheRedis,
        keyPrefix: `${config.cache.prefix}rate-limit`,
        requests: config.security.rateLimit.requests,
        windowMs: config.security.rateLimit.windowMs,
        logger,
      })
    : undefined);
  const cors = corsPolicy(config.security.corsOrigins);
  const app = createApp({
    catalog,
    producer,
    events,
    logger,
    isDraining: () => shutdown.isDraining,
    redisReachable: () => isReachable(queueClient),
    redisEpoch: () => epoch.check(),
    http: config.http,
    trackStream: (close) => {
      streams.add(close);
      return () => streams.delete(close);
    },
    content: content.content,
    cacheStats: content.cacheStats,
    metrics: metricsHandler(clusterMetricsSource(registry), config.metrics.auth),
    metricsAuthorized: (req) => metricsAuthorized(config.metrics.auth, req),
    hirefireToken: config.hirefireToken,
    fleet: {
      membership,
      urlChecks: new UrlCheckStore(queueClient, config.dataPrefix),
      urlCheckAllow: config.urlCheckAllow,
    },
    dashboard: config.dashboard,
    dashboardActions: config.dashboardActions,
    security: config.security,
    cors,
    // Counters live in the cache Redis: they are disposable, and it may evict them under memory
    // pressure, which the queue Redis (noeviction) must never have to choose between.
    failedAuth: new FailedAuthGuard({
      redis: cacheRedis,
      keyPrefix: `${config.cache.prefix}auth-failures`,
      failures: config.security.failedAuthLimit,
      windowMs: FAILED_AUTH_WINDOW_MS,
    }),
    rateLimiter,
    profiles: { desk: new ProfileDesk(cacheRedis, config.profiling.prefix), maxMs: config.profiling.maxMs },
  });

  const { pageCache } = content.content;
  const fastSubmissions = new SubmissionFastPath({
    producer,
    jobTypes: catalog.publicContracts.map((c) => c.name),
    bodyLimitBytes: config.http.bodyLimitBytes,
    rateLimiter,
    cors,
    trustProxy: app.get('trust proxy fn') as (address: string, hop: number) => boolean,
    isDraining: () => shutdown.isDraining,
    answerError: (error, req, res) => answerError(logger, config.http.bodyLimitBytes, error, req, res, req.url ?? '/'),
  });
  const traceRequest = serverRequestTracer();
  const headersTimeoutMs = config.http.headersTimeoutMs;
  const server = (parts.server = createServer(
    {
      maxHeaderSize: config.http.maxHeaderBytes,
      headersTimeout: headersTimeoutMs,
      requestTimeout: config.http.requestTimeoutMs,
      // How often Node looks for requests past those deadlines (default 30 s, which would let
      // a slow-loris connection live half a minute longer than its deadline).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, headersTimeoutMs / 4)),
      // Checked by the app instead, which answers problem JSON (see requireHost).
      requireHostHeader: false,
    },
    (req, res) => {
      const startedAt = process.hrtime.bigint();
      let fastRoute: string | undefined;
      traceRequest(
        req,
        res,
        () => fastRoute ?? expressRoute(req),
        () => {
          // Fresh cached pages and plain job submissions are answered here, before Express: its
          // router and helpers cost more than the work of either.
          fastRoute = pageCache?.serveFromMemory(req, res);
          if (fastRoute !== undefined) {
            httpMetrics.observe(req.method ?? 'GET', fastRoute, res.statusCode, startedAt);
            return;
          }
          const submission = fastSubmissions.takes(req);
          if (submission !== undefined) {
            fastRoute = SUBMISSION_ROUTE;
            httpMetrics.track(req, res, startedAt, () => SUBMISSION_ROUTE);
            fastSubmissions.answer(req, res, submission);
            return;
          }
          httpMetrics.track(req, res, startedAt, () => expressRoute(req));
          void app(req, res);
        },
      );
    },
  ));
  // Longer than any PaaS router's idle timeout (Heroku: 90 s), so the router never sends a
  // request on a socket this process is closing at the same moment. (Node counts the headers
  // deadline from a request's first byte, not from the idle time before it, so it may be shorter.)
  server.keepAliveTimeout = config.http.keepAliveTimeoutMs;
  server.on('clientError', answerClientError);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  logger.info(
    { port: config.port, redis: redactRedisUrl(config.redis.queueUrl), platform: config.platform },
    'web ready',
  );
  return server;
}
