import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express } from 'express';
import type { WebConfig } from '@flotilla/config';
import { JobAdmin, type JobCatalog, type JobEventHub, type JobProducer } from '@flotilla/queue';
import type { RedisEpochState } from '@flotilla/redis';
import type { Logger } from '@flotilla/telemetry';
import type { CorsPolicy } from './cors-policy.js';
import { buildOpenApiDocument } from './openapi.js';
import { HttpProblem, problemHandler } from './problems.js';
import { adminJobRoutes } from './routes/admin-jobs.js';
import { adminProfileRoutes } from './routes/admin-profiles.js';
import type { ApiRateLimiter } from './rate-limiter.js';
import { articleApiRoutes } from './routes/articles-api.js';
import { cacheStatsRoutes, type CacheStatsDeps } from './routes/cache-stats.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { fleetRoutes, type FleetDeps } from './routes/fleet.js';
import type { ContentDeps } from './routes/content-deps.js';
import { healthRoutes } from './routes/health.js';
import { jobEventRoutes } from './routes/job-events.js';
import { jobRoutes } from './routes/jobs.js';
import { declaredLengthWithin, requireHost } from './routes/request-checks.js';
import { queueRoutes } from './routes/queues.js';
import { siteRoutes } from './routes/site.js';
import { securityHeaders } from './security-headers.js';
import type { FailedAuthGuard } from './failed-auth-guard.js';
import { StreamLimiter } from './stream-limiter.js';
import type { ProfileDesk } from '@flotilla/profiling';

/** What the web app is built from; it opens no connections itself. */
export interface AppDeps {
  readonly catalog: JobCatalog;
  readonly producer: JobProducer;
  readonly events: JobEventHub;
  readonly logger: Logger;
  readonly isDraining: () => boolean;
  readonly redisReachable: () => Promise<boolean>;
  readonly redisEpoch: () => Promise<RedisEpochState>;
  readonly http: {
    readonly bodyLimitBytes: number;
    readonly sseHeartbeatMs: number;
    readonly maxWaitMs: number;
  };
  /** Registers a long-lived stream to be closed at shutdown. */
  readonly trackStream: (close: () => void) => () => void;
  /** The example domain: articles, comments, their pages and caches. */
  readonly content: ContentDeps;
  readonly cacheStats: CacheStatsDeps;
  /** Answers GET /metrics (Prometheus text format, protected when configured). */
  readonly metrics: (req: IncomingMessage, res: ServerResponse) => void;
  /** Whether a request carries the metrics credentials (also asked by /api/queues and the fleet reads). */
  readonly metricsAuthorized: (req: IncomingMessage) => boolean;
  readonly hirefireToken: string | undefined;
  /** Membership of the fleet and the partitioned URL check. */
  readonly fleet: Pick<FleetDeps, 'membership' | 'urlChecks' | 'urlCheckAllow'>;
  /** Who may use /dashboard. */
  readonly dashboard: WebConfig['dashboard'];
  /** Whose X-Forwarded-For to believe, and the per-client stream cap. */
  readonly security: Pick<WebConfig['security'], 'trustProxy' | 'maxStreamsPerClient'>;
  /** CORS for /api (CORS_ORIGINS); undefined when off. The submission fast path runs the same policy. */
  readonly cors: CorsPolicy | undefined;
  /** What bull-board may change (DASHBOARD_ACTIONS). */
  readonly dashboardActions: WebConfig['dashboardActions'];
  /** Counts 401s per client and refuses further credentials past the limit; undefined in tests that build the app bare. */
  readonly failedAuth?: FailedAuthGuard | undefined;
  /** The per-client request limit of /api; undefined when switched off. */
  readonly rateLimiter: ApiRateLimiter | undefined;
  /** Asks processes of the fleet for profiles (admin API). */
  readonly profiles: { readonly desk: ProfileDesk; readonly maxMs: number };
}

/** Builds the Express application. Listening, signals and connections belong to main.ts. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('etag', false);
  const { trustProxy } = deps.security;
  app.set('trust proxy', typeof trustProxy === 'object' ? [...trustProxy] : trustProxy);
  // First, so every response carries them, errors included; cached pages replay them.
  app.use(securityHeaders());
  app.use(requireHost);

  const openapi = JSON.stringify(buildOpenApiDocument(deps.catalog));
  app.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });
  app.use(healthRoutes(deps));
  // Before everything that checks credentials: /metrics, /api/queues, the fleet, admin and dashboard.
  if (deps.failedAuth) app.use(deps.failedAuth.middleware());
  app.get('/metrics', (req, res) => deps.metrics(req, res));
  app.use((_req, res, next) => {
    // While draining, tell keep-alive clients to reconnect elsewhere after this response.
    if (deps.isDraining()) res.set('connection', 'close');
    next();
  });
  // Before the limit, so a browser can read a 429 (and its Retry-After) too.
  if (deps.cors) app.use('/api', deps.cors);
  if (deps.rateLimiter) app.use('/api', deps.rateLimiter.middleware());
  app.use(declaredLengthWithin(deps.http.bodyLimitBytes));
  app.get(
    ['/api/jobs/:id/events', '/dashboard/events'],
    new StreamLimiter(deps.security.maxStreamsPerClient).middleware(),
  );
  app.use(
    jobRoutes(
      {
        producer: deps.producer,
        events: deps.events,
        bodyLimitBytes: deps.http.bodyLimitBytes,
        maxWaitMs: deps.http.maxWaitMs,
      },
      deps.catalog.publicContracts.map((c) => c.name),
    ),
  );
  app.use(
    jobEventRoutes({
      producer: deps.producer,
      events: deps.events,
      heartbeatMs: deps.http.sseHeartbeatMs,
      track: deps.trackStream,
    }),
  );
  app.use(siteRoutes(deps.content, deps.http.bodyLimitBytes, deps.rateLimiter?.middleware()));
  app.use(articleApiRoutes(deps.content, deps.http.bodyLimitBytes));
  app.use(cacheStatsRoutes(deps.cacheStats));
  // Reads as /api/queues, target changes as the admin API.
  app.use(
    fleetRoutes({
      ...deps.fleet,
      bodyLimitBytes: deps.http.bodyLimitBytes,
      readAuthorized: deps.metricsAuthorized,
      access: deps.dashboard,
    }),
  );
  app.use(
    dashboardRoutes({
      access: deps.dashboard,
      actions: deps.dashboardActions,
      catalog: deps.catalog,
      producer: deps.producer,
      membership: deps.fleet.membership,
      cacheStats: deps.cacheStats,
      trackStream: deps.trackStream,
    }),
  );
  app.use(adminJobRoutes({ access: deps.dashboard, admin: new JobAdmin(deps.producer) }));
  app.use(adminProfileRoutes({ access: deps.dashboard, membership: deps.fleet.membership, ...deps.profiles }));
  app.use(
    queueRoutes({
      catalog: deps.catalog,
      producer: deps.producer,
      authorized: deps.metricsAuthorized,
      hirefireToken: deps.hirefireToken,
    }),
  );
  app.use((req, _res, next) => {
    next(new HttpProblem('not-found', `no resource at ${req.method} ${req.path}`));
  });
  app.use(problemHandler(deps.logger, deps.http.bodyLimitBytes));
  return app;
}
