import type { Platform } from './platform.js';

/** What the queue Redis should do when its maxmemory-policy can evict keys (BullMQ needs noeviction). */
export type EvictionPolicyCheck = 'warn' | 'refuse' | 'off';

/** How /metrics is protected (METRICS_BEARER_TOKEN or METRICS_BASIC_AUTH). */
export type MetricsAuthConfig =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'basic'; readonly user: string; readonly password: string };

/** Log levels pino understands. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One pino log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

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

// Each field comes from the settings table (settings.ts), which documents it; every duration is
// in milliseconds, whatever unit its variable is written in.

/** Settings every Flotilla process shares. */
export interface CommonConfig {
  readonly platform: Platform;
  readonly release: string;
  readonly port: number;
  /** Undefined means every interface, as platforms need. */
  readonly listenHost: string | undefined;
  readonly urlCheckAllow: readonly string[];
  readonly logLevel: LogLevel;
  readonly redis: {
    readonly queueUrl: string;
    readonly cacheUrl: string;
    readonly allowSelfSignedTls: boolean;
    readonly tlsCa: string | undefined;
  };
  readonly queue: {
    /** BullMQ key prefix; the `{…}` hash tag keeps every queue key in one Redis Cluster slot. */
    readonly prefix: string;
    /** How many shards (copies under their own hash tags) every queue is spread over; 1: none. */
    readonly shards: number;
    readonly evictionPolicyCheck: EvictionPolicyCheck;
    readonly completedRetentionMs: number;
    readonly failedRetentionMs: number;
    readonly retentionCount: number;
    readonly eventsMaxLen: number;
  };
  readonly cache: {
    /** Prefix of every cache key; each cache adds its `{name}` hash tag. */
    readonly prefix: string;
    /** How many key groups (each under its own hash tag) every cache spreads its entries over. */
    readonly shards: number;
    readonly l1MaxEntries: number;
    readonly l1MaxBytes: number;
  };
  /** Prefix of the example domain's content keys (kept in the queue Redis, which never evicts). */
  readonly dataPrefix: string;
  readonly metrics: {
    /** Who may read /metrics. */
    readonly auth: MetricsAuthConfig;
    /** Push to a Pushgateway, where nothing can scrape each instance (Heroku, Cloud Run). */
    readonly push: { readonly url: string; readonly intervalMs: number } | undefined;
  };
  /** Fleet membership: how often a process says it is alive, and how long until silence means gone. */
  readonly membership: {
    readonly heartbeatMs: number;
    readonly ttlMs: number;
  };
  /** Profiles an operator takes of a live process (dashboard, admin API, `flotilla profile`). */
  readonly profiling: {
    /** The longest a CPU or sampling heap profile may record. */
    readonly maxMs: number;
    /** The largest profile a process hands back through Redis. */
    readonly maxBytes: number;
    /** Where requests and results travel, in the cache Redis: they are disposable. */
    readonly prefix: string;
  };
  readonly shutdown: {
    readonly timeoutMs: number;
    /** How long /readyz reports draining before the listener closes, so load balancers stop routing first. */
    readonly drainDelayMs: number;
  };
}

/** Settings of the web service. */
export interface WebConfig extends CommonConfig {
  readonly service: 'web';
  readonly webConcurrency: number;
  readonly http: {
    readonly keepAliveTimeoutMs: number;
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly maxHeaderBytes: number;
    readonly bodyLimitBytes: number;
    readonly sseHeartbeatMs: number;
    readonly maxWaitMs: number;
  };
  /** Defences of the HTTP API against other sites, floods and greedy clients. */
  readonly security: {
    /** Origins whose pages may call the API (`*`: any); empty: CORS off, the browser default. */
    readonly corsOrigins: '*' | readonly string[];
    /** Express `trust proxy`: which peers may name the client in X-Forwarded-For. */
    readonly trustProxy: false | number | readonly string[];
    /** Requests per client and window on /api; undefined: no limit. */
    readonly rateLimit: { readonly requests: number; readonly windowMs: number } | undefined;
    readonly maxStreamsPerClient: number;
    readonly failedAuthLimit: number;
  };
  readonly pageCache: {
    /** Fresh period of a cached page; 0 switches the full-page cache off. */
    readonly ttlMs: number;
  };
  /** Undefined: generated and kept in Redis. */
  readonly jobIdSecret: string | undefined;
  readonly durableSubmissions: boolean;
  /** Share of the queue Redis's maxmemory (0–1) from which submissions are refused; 1: Redis's own OOM. */
  readonly submissionMemoryLimit: number;
  /** Undefined: no HireFire endpoint. */
  readonly hirefireToken: string | undefined;
  /** Who may use /dashboard: holders of the admin credentials, anyone, or nobody (the default). */
  readonly dashboard:
    { readonly access: 'off' | 'open' } | { readonly access: 'credentials'; readonly auth: MetricsAuthConfig };
  readonly dashboardActions: readonly BoardAction[];
}

/** Settings of the worker service. */
export interface WorkerConfig extends CommonConfig {
  readonly service: 'worker';
  readonly worker: {
    /** Queues this process consumes; undefined means every declared queue. */
    readonly queues: readonly string[] | undefined;
    readonly threads: boolean;
    readonly lockDurationMs: number;
    readonly stalledIntervalMs: number;
    readonly maxStalledCount: number;
    readonly livenessTimeoutMs: number;
  };
  /** The partitioned URL check every worker takes its share of. */
  readonly urlCheck: {
    readonly intervalMs: number;
    readonly concurrency: number;
    readonly timeoutMs: number;
  };
}
