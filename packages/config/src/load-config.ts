import { isIP } from 'node:net';
import { z } from 'zod';
import { ConfigError } from './config-error.js';
import {
  boolFromEnv,
  intFromEnv,
  listFromEnv,
  originsFromEnv,
  redisUrlFromEnv,
  secondsFromEnv,
  trustProxyFromEnv,
} from './env-parsers.js';
import { defaultShutdownTimeoutSeconds, detectPlatform, type Platform } from './platform.js';

type Env = Readonly<Record<string, string | undefined>>;

/** What the queue Redis should do when its maxmemory-policy can evict keys (BullMQ needs noeviction). */
export type EvictionPolicyCheck = 'warn' | 'refuse' | 'off';

/** How /metrics is protected (METRICS_BEARER_TOKEN or METRICS_BASIC_AUTH). */
export type MetricsAuthConfig =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'basic'; readonly user: string; readonly password: string };

/** Log levels pino understands. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Settings every Flotilla process shares. */
export interface CommonConfig {
  readonly platform: Platform;
  /** The release running, as the platform names it (FLOTILLA_RELEASE, else the platform's own), or `dev`. */
  readonly release: string;
  readonly port: number;
  /** The address to listen on (LISTEN_HOST); undefined means every interface, as platforms need. */
  readonly listenHost: string | undefined;
  /** Addresses (CIDRs) and host names URL checks may reach besides public ones (URL_CHECK_ALLOW). */
  readonly urlCheckAllow: readonly string[];
  readonly logLevel: LogLevel;
  readonly redis: {
    /** Redis for BullMQ (QUEUE_REDIS_URL, else REDIS_TLS_URL, else REDIS_URL). */
    readonly queueUrl: string;
    /** Redis for the cache (CACHE_REDIS_URL, else REDIS_TLS_URL, else REDIS_URL). */
    readonly cacheUrl: string;
    readonly allowSelfSignedTls: boolean;
    readonly tlsCa: string | undefined;
  };
  readonly queue: {
    /** BullMQ key prefix; the `{…}` hash tag keeps every queue key in one Redis Cluster slot. */
    readonly prefix: string;
    readonly evictionPolicyCheck: EvictionPolicyCheck;
    readonly completedRetentionSeconds: number;
    readonly failedRetentionSeconds: number;
    readonly retentionCount: number;
    readonly eventsMaxLen: number;
  };
  readonly cache: {
    /** Prefix of every cache key; each cache adds its `{name}` hash tag. */
    readonly prefix: string;
    readonly l1MaxEntries: number;
    readonly l1MaxBytes: number;
  };
  /** Prefix of the example domain's content keys (kept in the queue Redis, which never evicts). */
  readonly dataPrefix: string;
  readonly metrics: {
    /** Who may read /metrics. */
    readonly auth: MetricsAuthConfig;
    /** Push to a Pushgateway, where nothing can scrape each instance (Heroku, Cloud Run). */
    readonly push: { readonly url: string; readonly intervalSeconds: number } | undefined;
  };
  /** Fleet membership: how often a process says it is alive, and how long until silence means gone. */
  readonly membership: {
    readonly heartbeatMs: number;
    readonly ttlMs: number;
  };
  /** Profiles an operator takes of a live process (dashboard, admin API, `flotilla profile`). */
  readonly profiling: {
    /** The longest a CPU or sampling heap profile may record. */
    readonly maxSeconds: number;
    /** The largest profile a process hands back through Redis. */
    readonly maxBytes: number;
    /** Where requests and results travel, in the cache Redis: they are disposable. */
    readonly prefix: string;
  };
  readonly shutdown: {
    readonly timeoutSeconds: number;
    /** Seconds /readyz reports draining before the listener closes, so load balancers stop routing first. */
    readonly drainDelaySeconds: number;
  };
}

/** Settings of the web service. */
export interface WebConfig extends CommonConfig {
  readonly service: 'web';
  readonly webConcurrency: number;
  readonly http: {
    readonly keepAliveTimeoutSeconds: number;
    /** Time a client has to send a request's headers; slower connections are cut (slow-loris). */
    readonly headersTimeoutSeconds: number;
    /** Time a client has to send a whole request, headers and body. */
    readonly requestTimeoutSeconds: number;
    readonly maxHeaderBytes: number;
    readonly bodyLimitBytes: number;
    readonly sseHeartbeatSeconds: number;
    readonly maxWaitSeconds: number;
  };
  /** Defences of the HTTP API against other sites, floods and greedy clients. */
  readonly security: {
    /** Origins whose pages may call the API (`*`: any); empty: CORS off, the browser default. */
    readonly corsOrigins: '*' | readonly string[];
    /** Express `trust proxy`: which peers may name the client in X-Forwarded-For. */
    readonly trustProxy: false | number | readonly string[];
    /** Requests per client and window on /api; undefined: no limit. */
    readonly rateLimit: { readonly requests: number; readonly windowSeconds: number } | undefined;
    /** Event streams one client may hold open at once on one web process. */
    readonly maxStreamsPerClient: number;
    /** Failed authentications (401s) per client in 15 minutes before its credentials are refused with 429. */
    readonly failedAuthLimit: number;
  };
  readonly pageCache: {
    /** Fresh period of a cached page; 0 switches the full-page cache off. */
    readonly ttlSeconds: number;
  };
  /** Key for deriving job ids from Idempotency-Key headers; generated and kept in Redis when unset. */
  readonly jobIdSecret: string | undefined;
  /**
   * Answer 202 only once the job is in Redis's append-only file on disk (DURABLE_SUBMISSIONS):
   * WAITAOF on Redis 7.2 and later, `appendfsync always` verified on older servers.
   */
  readonly durableSubmissions: boolean;
  /**
   * Share of the queue Redis's maxmemory (0–1) from which submissions are refused with 503, so
   * the rest stays for the workers to record finished jobs; 1 leaves it to Redis's own OOM.
   */
  readonly submissionMemoryLimit: number;
  /** Token in the path of the HireFire endpoint (Heroku worker autoscaling); unset: no endpoint. */
  readonly hirefireToken: string | undefined;
  /**
   * Who may use /dashboard and its actions: holders of ADMIN_TOKEN / ADMIN_BASIC_AUTH, anyone
   * (DASHBOARD_ALLOW_UNAUTHENTICATED=true, for a laptop), or nobody (the default: no dashboard).
   */
  readonly dashboard:
    { readonly access: 'off' | 'open' } | { readonly access: 'credentials'; readonly auth: MetricsAuthConfig };
  /** What bull-board under /dashboard/jobs may do to jobs and queues (DASHBOARD_ACTIONS); everything else is read-only. */
  readonly dashboardActions: readonly BoardAction[];
}

/** Settings of the worker service. */
export interface WorkerConfig extends CommonConfig {
  readonly service: 'worker';
  readonly worker: {
    /** Queues this process consumes; undefined means every declared queue. */
    readonly queues: readonly string[] | undefined;
    /**
     * Whether sandboxed queues run their jobs in worker threads (WORKER_THREADS, default on);
     * off, they run on the main thread, where a CPU profile of the process sees them.
     */
    readonly threads: boolean;
    readonly lockDurationMs: number;
    readonly stalledIntervalMs: number;
    readonly maxStalledCount: number;
    /**
     * How long a consumer loop may go without an answer from Redis, while Redis is reachable,
     * before /healthz reports the process dead so the platform restarts it.
     */
    readonly livenessTimeoutMs: number;
  };
  /** The partitioned URL check every worker takes its share of. */
  readonly urlCheck: {
    readonly intervalSeconds: number;
    readonly concurrency: number;
    readonly timeoutSeconds: number;
  };
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * What bull-board can do, by kind: retry, promote and remove single jobs; pause queues; clean,
 * empty and obliterate them; add jobs; edit their data, delay or priority; change concurrency,
 * rate limits and job schedulers.
 */
export const BOARD_ACTIONS = [
  'retry',
  'promote',
  'remove',
  'pause',
  'clean',
  'empty',
  'obliterate',
  'add',
  'edit',
  'concurrency',
  'rate-limit',
  'schedulers',
] as const;
/** One kind of bull-board action. */
export type BoardAction = (typeof BOARD_ACTIONS)[number];
const DEFAULT_BOARD_ACTIONS: readonly BoardAction[] = ['retry', 'promote', 'remove'];

const commonSchema = z.object({
  PORT: intFromEnv(1, 65535).optional(),
  LISTEN_HOST: z
    .string()
    .refine((host) => isIP(host) !== 0, 'an IP address, e.g. 127.0.0.1')
    .optional(),
  // Read by the web too, which refuses targets the worker's checker would refuse.
  URL_CHECK_ALLOW: listFromEnv(
    z
      .string()
      .regex(/^([0-9a-fA-F.:]+\/\d{1,3}|\*?\.?[a-z0-9.-]+)$/, 'CIDRs or host names like 10.0.0.0/8,status.internal'),
  ).optional(),
  LOG_LEVEL: z.enum(logLevels, `one of ${logLevels.join(', ')}`).optional(),
  REDIS_URL: redisUrlFromEnv.optional(),
  REDIS_TLS_URL: redisUrlFromEnv.optional(),
  QUEUE_REDIS_URL: redisUrlFromEnv.optional(),
  CACHE_REDIS_URL: redisUrlFromEnv.optional(),
  REDIS_TLS_ALLOW_SELF_SIGNED: boolFromEnv.optional(),
  REDIS_TLS_CA: z.string().includes('BEGIN CERTIFICATE', 'a PEM certificate').optional(),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[^:\s]*\{[^{}:\s]+\}[^:\s]*$/, 'a key prefix with a {hash-tag} and no colon, e.g. {flotilla}')
    .optional(),
  QUEUE_EVICTION_POLICY_CHECK: z.enum(['warn', 'refuse', 'off'], 'one of warn, refuse, off').optional(),
  JOB_RETENTION_COMPLETED_SECONDS: intFromEnv(0, 90 * 86_400).optional(),
  JOB_RETENTION_FAILED_SECONDS: intFromEnv(0, 365 * 86_400).optional(),
  JOB_RETENTION_COUNT: intFromEnv(1, 10_000_000).optional(),
  QUEUE_EVENTS_MAX_LEN: intFromEnv(100, 10_000_000).optional(),
  CACHE_PREFIX: z
    .string()
    .regex(/^[^{}\s]{1,64}$/, 'a key prefix without braces or spaces, e.g. flotilla:cache:')
    .optional(),
  CACHE_L1_MAX_ENTRIES: intFromEnv(0, 10_000_000).optional(),
  CACHE_L1_MAX_MB: intFromEnv(1, 65_536).optional(),
  DATA_PREFIX: z
    .string()
    .regex(/^[^{}\s]{1,64}$/, 'a key prefix without braces or spaces, e.g. flotilla:data:')
    .optional(),
  // Long enough that guessing is hopeless even where failed attempts are not slowed.
  METRICS_BEARER_TOKEN: z.string().min(24, 'a token of at least 24 characters').optional(),
  METRICS_BASIC_AUTH: z
    .string()
    .regex(/^[^:]+:.{16,}$/, 'user:password with a password of at least 16 characters')
    .optional(),
  METRICS_PUSHGATEWAY_URL: z
    .url({ protocol: /^https?$/, error: 'an http(s) URL of a Prometheus Pushgateway' })
    .optional(),
  METRICS_PUSH_INTERVAL_SECONDS: secondsFromEnv(1, 3600).optional(),
  SHUTDOWN_TIMEOUT: secondsFromEnv(1, 3600).optional(),
  SHUTDOWN_DRAIN_DELAY: secondsFromEnv(0, 600).optional(),
  MEMBERSHIP_HEARTBEAT_SECONDS: secondsFromEnv(0.1, 60).optional(),
  MEMBERSHIP_TTL_SECONDS: secondsFromEnv(0.3, 600).optional(),
  PROFILE_MAX_SECONDS: intFromEnv(1, 3600).optional(),
  PROFILE_MAX_MB: intFromEnv(1, 4096).optional(),
});

const webSchema = commonSchema.extend({
  WEB_CONCURRENCY: intFromEnv(1, 256).optional(),
  HTTP_KEEP_ALIVE_TIMEOUT: secondsFromEnv(1, 3600).optional(),
  HTTP_HEADERS_TIMEOUT: secondsFromEnv(1, 600).optional(),
  HTTP_REQUEST_TIMEOUT: secondsFromEnv(1, 3600).optional(),
  HTTP_MAX_HEADER_BYTES: intFromEnv(1024, 1024 * 1024).optional(),
  CORS_ORIGINS: originsFromEnv.optional(),
  TRUST_PROXY: trustProxyFromEnv.optional(),
  RATE_LIMIT_REQUESTS: intFromEnv(0, 10_000_000).optional(),
  RATE_LIMIT_WINDOW_SECONDS: intFromEnv(1, 86_400).optional(),
  SSE_MAX_STREAMS_PER_CLIENT: intFromEnv(1, 100_000).optional(),
  REQUEST_BODY_LIMIT_BYTES: intFromEnv(64, 100 * 1024 * 1024).optional(),
  SSE_HEARTBEAT_SECONDS: secondsFromEnv(1, 50).optional(),
  JOB_WAIT_MAX_SECONDS: secondsFromEnv(0, 120).optional(),
  PAGE_CACHE_TTL_SECONDS: intFromEnv(0, 86_400).optional(),
  JOB_ID_SECRET: z.string().min(32, 'a secret of at least 32 characters').optional(),
  DURABLE_SUBMISSIONS: boolFromEnv.optional(),
  SUBMISSION_MEMORY_LIMIT_PERCENT: intFromEnv(1, 100).optional(),
  HIREFIRE_TOKEN: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,128}$/, 'a token of 16 to 128 letters, digits, - or _')
    .optional(),
  ADMIN_TOKEN: z.string().min(24, 'a token of at least 24 characters').optional(),
  ADMIN_BASIC_AUTH: z
    .string()
    .regex(/^[^:]+:.{16,}$/, 'user:password with a password of at least 16 characters')
    .optional(),
  DASHBOARD_ALLOW_UNAUTHENTICATED: boolFromEnv.optional(),
  AUTH_FAILURE_LIMIT: intFromEnv(1, 10_000).optional(),
  DASHBOARD_ACTIONS: listFromEnv(z.enum(BOARD_ACTIONS, `one of ${BOARD_ACTIONS.join(', ')}`)).optional(),
});

const workerSchema = commonSchema.extend({
  WORKER_QUEUES: listFromEnv(z.string().regex(/^[a-z][a-z0-9-]*$/, 'queue names like default,cpu')).optional(),
  WORKER_THREADS: boolFromEnv.optional(),
  WORKER_LOCK_DURATION_MS: intFromEnv(1000, 3_600_000).optional(),
  WORKER_STALLED_INTERVAL_MS: intFromEnv(1000, 3_600_000).optional(),
  WORKER_MAX_STALLED_COUNT: intFromEnv(0, 100).optional(),
  // An idle loop hears from Redis at least every 10 s (BullMQ's longest block), so less would flap.
  WORKER_LIVENESS_TIMEOUT_SECONDS: secondsFromEnv(15, 3600).optional(),
  URL_CHECK_INTERVAL_SECONDS: secondsFromEnv(1, 86_400).optional(),
  URL_CHECK_CONCURRENCY: intFromEnv(1, 1000).optional(),
  URL_CHECK_TIMEOUT_SECONDS: secondsFromEnv(0.1, 120).optional(),
});

const SECRET_VARIABLES = new Set([
  'JOB_ID_SECRET',
  'REDIS_TLS_CA',
  'METRICS_BEARER_TOKEN',
  'METRICS_BASIC_AUTH',
  'HIREFIRE_TOKEN',
  'ADMIN_TOKEN',
  'ADMIN_BASIC_AUTH',
]);

function parse<S extends z.ZodType>(schema: S, env: Env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const variable = String(issue?.path[0] ?? 'environment');
  const raw = env[variable];
  throw new ConfigError(
    variable,
    issue?.message ?? 'a valid value',
    raw === undefined ? undefined : redact(variable, raw),
  );
}

function redact(variable: string, value: string): string {
  if (SECRET_VARIABLES.has(variable)) return '***';
  // Redis URLs carry passwords; show where they point, never the credentials.
  return value.replace(/\/\/[^@/]*@/, '//***@');
}

function commonConfig(e: z.output<typeof commonSchema>, env: Env, defaultPort: number): CommonConfig {
  const fallback = e.REDIS_TLS_URL ?? e.REDIS_URL;
  const queueUrl = e.QUEUE_REDIS_URL ?? fallback;
  const cacheUrl = e.CACHE_REDIS_URL ?? fallback;
  const cachePrefix = e.CACHE_PREFIX ?? 'flotilla:cache:';
  if (queueUrl === undefined || cacheUrl === undefined) {
    throw new ConfigError(
      'REDIS_URL',
      'a redis:// or rediss:// URL (or QUEUE_REDIS_URL and CACHE_REDIS_URL)',
      undefined,
    );
  }
  const platform = detectPlatform(env);
  return {
    platform,
    release:
      env['FLOTILLA_RELEASE'] ?? env['HEROKU_RELEASE_VERSION'] ?? env['K_REVISION'] ?? env['GAE_VERSION'] ?? 'dev',
    port: e.PORT ?? defaultPort,
    listenHost: e.LISTEN_HOST,
    urlCheckAllow: e.URL_CHECK_ALLOW ?? [],
    logLevel: e.LOG_LEVEL ?? 'info',
    redis: {
      queueUrl,
      cacheUrl,
      allowSelfSignedTls: e.REDIS_TLS_ALLOW_SELF_SIGNED ?? false,
      tlsCa: e.REDIS_TLS_CA,
    },
    queue: {
      prefix: e.QUEUE_PREFIX ?? '{flotilla}',
      evictionPolicyCheck: e.QUEUE_EVICTION_POLICY_CHECK ?? 'warn',
      completedRetentionSeconds: e.JOB_RETENTION_COMPLETED_SECONDS ?? 86_400,
      failedRetentionSeconds: e.JOB_RETENTION_FAILED_SECONDS ?? 7 * 86_400,
      retentionCount: e.JOB_RETENTION_COUNT ?? 10_000,
      eventsMaxLen: e.QUEUE_EVENTS_MAX_LEN ?? 10_000,
    },
    cache: {
      prefix: cachePrefix,
      l1MaxEntries: e.CACHE_L1_MAX_ENTRIES ?? 10_000,
      l1MaxBytes: (e.CACHE_L1_MAX_MB ?? 64) * 1024 * 1024,
    },
    dataPrefix: e.DATA_PREFIX ?? 'flotilla:data:',
    metrics: {
      auth: metricsAuth(e.METRICS_BEARER_TOKEN, e.METRICS_BASIC_AUTH),
      push: e.METRICS_PUSHGATEWAY_URL
        ? { url: e.METRICS_PUSHGATEWAY_URL, intervalSeconds: e.METRICS_PUSH_INTERVAL_SECONDS ?? 15 }
        : undefined,
    },
    membership: membership(e.MEMBERSHIP_HEARTBEAT_SECONDS ?? 5, e.MEMBERSHIP_TTL_SECONDS),
    profiling: {
      maxSeconds: e.PROFILE_MAX_SECONDS ?? 60,
      maxBytes: (e.PROFILE_MAX_MB ?? 64) * 1024 * 1024,
      prefix: `${cachePrefix}profiles:`,
    },
    shutdown: {
      timeoutSeconds: e.SHUTDOWN_TIMEOUT ?? defaultShutdownTimeoutSeconds(platform),
      drainDelaySeconds: e.SHUTDOWN_DRAIN_DELAY ?? 0,
    },
  };
}

function membership(heartbeatSeconds: number, ttlSeconds: number | undefined): CommonConfig['membership'] {
  // Three missed heartbeats before a member counts as gone: one late beat is not a death.
  const ttl = ttlSeconds ?? heartbeatSeconds * 3;
  if (ttl < heartbeatSeconds * 2) {
    throw new ConfigError(
      'MEMBERSHIP_TTL_SECONDS',
      `at least twice MEMBERSHIP_HEARTBEAT_SECONDS (${heartbeatSeconds})`,
      String(ttlSeconds),
    );
  }
  return { heartbeatMs: Math.round(heartbeatSeconds * 1000), ttlMs: Math.round(ttl * 1000) };
}

function metricsAuth(
  token: string | undefined,
  basic: string | undefined,
  names = { token: 'METRICS_BEARER_TOKEN', basic: 'METRICS_BASIC_AUTH', what: '/metrics' },
): MetricsAuthConfig {
  if (token !== undefined && basic !== undefined) {
    throw new ConfigError(names.basic, `unset when ${names.token} is set (one way to protect ${names.what})`, '***');
  }
  if (token !== undefined) return { kind: 'bearer', token };
  if (basic !== undefined) {
    const colon = basic.indexOf(':');
    return { kind: 'basic', user: basic.slice(0, colon), password: basic.slice(colon + 1) };
  }
  return { kind: 'none' };
}

function dashboardAccess(token: string | undefined, basic: string | undefined, open: boolean): WebConfig['dashboard'] {
  const auth = metricsAuth(token, basic, { token: 'ADMIN_TOKEN', basic: 'ADMIN_BASIC_AUTH', what: 'the dashboard' });
  if (auth.kind !== 'none') {
    if (open)
      throw new ConfigError(
        'DASHBOARD_ALLOW_UNAUTHENTICATED',
        'unset when ADMIN_TOKEN or ADMIN_BASIC_AUTH is set',
        'true',
      );
    return { access: 'credentials', auth };
  }
  return { access: open ? 'open' : 'off' };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Reads and validates the web service's environment once; throws ConfigError on the first bad variable. */
export function loadWebConfig(env: Env = process.env): WebConfig {
  const e = parse(webSchema, env);
  const common = commonConfig(e, env, 3000);
  const keepAlive = e.HTTP_KEEP_ALIVE_TIMEOUT ?? 95;
  const heartbeat = e.SSE_HEARTBEAT_SECONDS ?? 15;
  const maxWait = e.JOB_WAIT_MAX_SECONDS ?? 25;
  const headersTimeout = e.HTTP_HEADERS_TIMEOUT ?? 20;
  const requestTimeout = e.HTTP_REQUEST_TIMEOUT ?? 60;
  // Node refuses to start a server whose header deadline is later than its request deadline.
  if (headersTimeout > requestTimeout) {
    throw new ConfigError(
      'HTTP_HEADERS_TIMEOUT',
      `at most HTTP_REQUEST_TIMEOUT (${requestTimeout})`,
      String(headersTimeout),
    );
  }
  const rateLimitRequests = e.RATE_LIMIT_REQUESTS ?? 6000;
  return deepFreeze({
    ...common,
    service: 'web' as const,
    webConcurrency: e.WEB_CONCURRENCY ?? 1,
    http: {
      keepAliveTimeoutSeconds: keepAlive,
      headersTimeoutSeconds: headersTimeout,
      requestTimeoutSeconds: requestTimeout,
      maxHeaderBytes: e.HTTP_MAX_HEADER_BYTES ?? 16 * 1024,
      bodyLimitBytes: e.REQUEST_BODY_LIMIT_BYTES ?? 100 * 1024,
      sseHeartbeatSeconds: heartbeat,
      maxWaitSeconds: maxWait,
    },
    security: {
      corsOrigins: e.CORS_ORIGINS ?? [],
      // Platform routers and ingresses reach the process from internal addresses and append the
      // client's address; a client connecting directly (a public peer) cannot name another.
      trustProxy: e.TRUST_PROXY ?? ['loopback', 'linklocal', 'uniquelocal'],
      rateLimit:
        rateLimitRequests > 0
          ? { requests: rateLimitRequests, windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS ?? 60 }
          : undefined,
      failedAuthLimit: e.AUTH_FAILURE_LIMIT ?? 10,
      maxStreamsPerClient: e.SSE_MAX_STREAMS_PER_CLIENT ?? 20,
    },
    pageCache: { ttlSeconds: e.PAGE_CACHE_TTL_SECONDS ?? 300 },
    jobIdSecret: e.JOB_ID_SECRET,
    durableSubmissions: e.DURABLE_SUBMISSIONS ?? false,
    submissionMemoryLimit: (e.SUBMISSION_MEMORY_LIMIT_PERCENT ?? 90) / 100,
    hirefireToken: e.HIREFIRE_TOKEN,
    dashboard: dashboardAccess(e.ADMIN_TOKEN, e.ADMIN_BASIC_AUTH, e.DASHBOARD_ALLOW_UNAUTHENTICATED ?? false),
    dashboardActions: e.DASHBOARD_ACTIONS ?? DEFAULT_BOARD_ACTIONS,
  });
}

/** Reads and validates the worker service's environment once; throws ConfigError on the first bad variable. */
export function loadWorkerConfig(env: Env = process.env): WorkerConfig {
  const e = parse(workerSchema, env);
  const common = commonConfig(e, env, 3001);
  const lockDurationMs = e.WORKER_LOCK_DURATION_MS ?? 30_000;
  return deepFreeze({
    ...common,
    service: 'worker' as const,
    worker: {
      queues: e.WORKER_QUEUES,
      threads: e.WORKER_THREADS ?? true,
      lockDurationMs,
      stalledIntervalMs: e.WORKER_STALLED_INTERVAL_MS ?? lockDurationMs,
      maxStalledCount: e.WORKER_MAX_STALLED_COUNT ?? 2,
      livenessTimeoutMs: (e.WORKER_LIVENESS_TIMEOUT_SECONDS ?? 60) * 1000,
    },
    urlCheck: {
      intervalSeconds: e.URL_CHECK_INTERVAL_SECONDS ?? 60,
      concurrency: e.URL_CHECK_CONCURRENCY ?? 10,
      timeoutSeconds: e.URL_CHECK_TIMEOUT_SECONDS ?? 10,
    },
  });
}
