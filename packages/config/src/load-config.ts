import { ConfigError } from './config-error.js';
import { defaultShutdownTimeoutMs, detectPlatform, platformRelease } from './platform.js';
import { readSettings, type SettingValues } from './read-settings.js';
import type { CommonConfig, MetricsAuthConfig, WebConfig, WorkerConfig } from './types.js';

type Env = Readonly<Record<string, string | undefined>>;

// Inside the code every duration is in milliseconds; variables keep the unit their name says.
function ms(seconds: number): number {
  return Math.round(seconds * 1000);
}

function commonConfig(v: SettingValues<'web'> | SettingValues<'worker'>, env: Env, defaultPort: number): CommonConfig {
  const fallback = v.REDIS_TLS_URL ?? v.REDIS_URL;
  const queueUrl = v.QUEUE_REDIS_URL ?? fallback;
  const cacheUrl = v.CACHE_REDIS_URL ?? fallback;
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
    release: v.FLOTILLA_RELEASE ?? platformRelease(env) ?? 'dev',
    port: v.PORT ?? defaultPort,
    listenHost: v.LISTEN_HOST,
    urlCheckAllow: v.URL_CHECK_ALLOW ?? [],
    logLevel: v.LOG_LEVEL,
    redis: {
      queueUrl,
      cacheUrl,
      allowSelfSignedTls: v.REDIS_TLS_ALLOW_SELF_SIGNED,
      tlsCa: v.REDIS_TLS_CA,
    },
    queue: {
      prefix: v.QUEUE_PREFIX,
      shards: v.QUEUE_SHARDS,
      evictionPolicyCheck: v.QUEUE_EVICTION_POLICY_CHECK,
      completedRetentionMs: ms(v.JOB_RETENTION_COMPLETED_SECONDS),
      failedRetentionMs: ms(v.JOB_RETENTION_FAILED_SECONDS),
      retentionCount: v.JOB_RETENTION_COUNT,
      eventsMaxLen: v.QUEUE_EVENTS_MAX_LEN,
    },
    cache: {
      prefix: v.CACHE_PREFIX,
      shards: v.CACHE_SHARDS,
      l1MaxEntries: v.CACHE_L1_MAX_ENTRIES,
      l1MaxBytes: v.CACHE_L1_MAX_MB * 1024 * 1024,
    },
    dataPrefix: v.DATA_PREFIX,
    metrics: {
      auth: metricsAuth(v.METRICS_BEARER_TOKEN, v.METRICS_BASIC_AUTH),
      push: v.METRICS_PUSHGATEWAY_URL
        ? { url: v.METRICS_PUSHGATEWAY_URL, intervalMs: ms(v.METRICS_PUSH_INTERVAL_SECONDS) }
        : undefined,
    },
    membership: membership(v.MEMBERSHIP_HEARTBEAT_SECONDS, v.MEMBERSHIP_TTL_SECONDS),
    profiling: {
      maxMs: ms(v.PROFILE_MAX_SECONDS),
      maxBytes: v.PROFILE_MAX_MB * 1024 * 1024,
      prefix: `${v.CACHE_PREFIX}profiles:`,
    },
    shutdown: {
      timeoutMs: v.SHUTDOWN_TIMEOUT === undefined ? defaultShutdownTimeoutMs(platform) : ms(v.SHUTDOWN_TIMEOUT),
      drainDelayMs: ms(v.SHUTDOWN_DRAIN_DELAY),
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
  return { heartbeatMs: ms(heartbeatSeconds), ttlMs: ms(ttl) };
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
  const v = readSettings('web', env);
  const common = commonConfig(v, env, 3000);
  // Node refuses to start a server whose header deadline is later than its request deadline.
  if (v.HTTP_HEADERS_TIMEOUT > v.HTTP_REQUEST_TIMEOUT) {
    throw new ConfigError(
      'HTTP_HEADERS_TIMEOUT',
      `at most HTTP_REQUEST_TIMEOUT (${v.HTTP_REQUEST_TIMEOUT})`,
      String(v.HTTP_HEADERS_TIMEOUT),
    );
  }
  return deepFreeze({
    ...common,
    service: 'web' as const,
    webConcurrency: v.WEB_CONCURRENCY,
    http: {
      keepAliveTimeoutMs: ms(v.HTTP_KEEP_ALIVE_TIMEOUT),
      headersTimeoutMs: ms(v.HTTP_HEADERS_TIMEOUT),
      requestTimeoutMs: ms(v.HTTP_REQUEST_TIMEOUT),
      maxHeaderBytes: v.HTTP_MAX_HEADER_BYTES,
      bodyLimitBytes: v.REQUEST_BODY_LIMIT_BYTES,
      sseHeartbeatMs: ms(v.SSE_HEARTBEAT_SECONDS),
      maxWaitMs: ms(v.JOB_WAIT_MAX_SECONDS),
    },
    security: {
      corsOrigins: v.CORS_ORIGINS ?? [],
      trustProxy: v.TRUST_PROXY,
      rateLimit:
        v.RATE_LIMIT_REQUESTS > 0
          ? { requests: v.RATE_LIMIT_REQUESTS, windowMs: ms(v.RATE_LIMIT_WINDOW_SECONDS) }
          : undefined,
      failedAuthLimit: v.AUTH_FAILURE_LIMIT,
      maxStreamsPerClient: v.SSE_MAX_STREAMS_PER_CLIENT,
    },
    pageCache: { ttlMs: ms(v.PAGE_CACHE_TTL_SECONDS) },
    jobIdSecret: v.JOB_ID_SECRET,
    durableSubmissions: v.DURABLE_SUBMISSIONS,
    submissionMemoryLimit: v.SUBMISSION_MEMORY_LIMIT_PERCENT / 100,
    hirefireToken: v.HIREFIRE_TOKEN,
    dashboard: dashboardAccess(v.ADMIN_TOKEN, v.ADMIN_BASIC_AUTH, v.DASHBOARD_ALLOW_UNAUTHENTICATED),
    dashboardActions: v.DASHBOARD_ACTIONS,
  });
}

/** Reads and validates the worker service's environment once; throws ConfigError on the first bad variable. */
export function loadWorkerConfig(env: Env = process.env): WorkerConfig {
  const v = readSettings('worker', env);
  const common = commonConfig(v, env, 3001);
  return deepFreeze({
    ...common,
    service: 'worker' as const,
    worker: {
      queues: v.WORKER_QUEUES,
      threads: v.WORKER_THREADS,
      lockDurationMs: v.WORKER_LOCK_DURATION_MS,
      stalledIntervalMs: v.WORKER_STALLED_INTERVAL_MS ?? v.WORKER_LOCK_DURATION_MS,
      maxStalledCount: v.WORKER_MAX_STALLED_COUNT,
      livenessTimeoutMs: ms(v.WORKER_LIVENESS_TIMEOUT_SECONDS),
    },
    urlCheck: {
      intervalMs: ms(v.URL_CHECK_INTERVAL_SECONDS),
      concurrency: v.URL_CHECK_CONCURRENCY,
      timeoutMs: ms(v.URL_CHECK_TIMEOUT_SECONDS),
    },
  });
}
