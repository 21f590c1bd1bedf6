import { isIP } from 'node:net';
import { z } from 'zod';
import {
  boolFromEnv,
  intFromEnv,
  listFromEnv,
  originsFromEnv,
  redisUrlFromEnv,
  secondsFromEnv,
  trustProxyFromEnv,
} from './env-parsers.js';
import { defaultShutdownTimeoutMs } from './platform.js';
import type { Setting } from './setting.js';
import { BOARD_ACTIONS, LOG_LEVELS } from './types.js';

const credentials = 'user:password with a password of at least 16 characters';
const longToken = 'a token of at least 24 characters';

/**
 * Every environment variable Flotilla reads, declared once: the loaders build the frozen
 * configuration from this table and docs/configuration.md is generated from it.
 */
export const SETTINGS = {
  PORT: {
    schema: intFromEnv(1, 65535),
    derived: 'web 3000, worker 3001',
    services: 'both',
    group: 'process',
    doc: "listening port (the worker's serves health and metrics)",
  },
  LISTEN_HOST: {
    schema: z.string().refine((host) => isIP(host) !== 0, 'an IP address, e.g. 127.0.0.1'),
    derived: 'every interface',
    services: 'both',
    group: 'process',
    doc: 'the address to listen on, e.g. `127.0.0.1`; `npm start` sets `127.0.0.1` unless you set it',
  },
  LOG_LEVEL: {
    schema: z.enum(LOG_LEVELS, `one of ${LOG_LEVELS.join(', ')}`),
    default: 'info',
    services: 'both',
    group: 'process',
    doc: 'pino level; logs are JSON with a `severity` field',
  },
  FLOTILLA_RELEASE: {
    schema: z.string(),
    derived: "the platform's release id, else `dev`",
    services: 'both',
    group: 'process',
    doc: 'the version each process reports in `/api/members`',
  },
  WEB_CONCURRENCY: {
    schema: intFromEnv(1, 256),
    default: '1',
    services: 'web',
    group: 'process',
    doc: 'web processes sharing one port (node:cluster)',
  },
  SHUTDOWN_TIMEOUT: {
    schema: secondsFromEnv(1, 3600),
    derived: `${defaultShutdownTimeoutMs('heroku') / 1000} (Cloud Run, App Engine: ${defaultShutdownTimeoutMs('cloud-run') / 1000})`,
    services: 'both',
    group: 'process',
    doc: 'seconds to finish in-flight requests and jobs after SIGTERM',
  },
  SHUTDOWN_DRAIN_DELAY: {
    schema: secondsFromEnv(0, 600),
    default: '0',
    services: 'both',
    group: 'process',
    doc: 'seconds `/readyz` reports draining before the listener closes, so load balancers stop routing first',
  },

  REDIS_URL: {
    schema: redisUrlFromEnv,
    services: 'both',
    group: 'redis',
    doc: 'required unless `QUEUE_REDIS_URL` and `CACHE_REDIS_URL` are set: `redis://`, `rediss://`, `redis+sentinel://host:port,host:port/master` or `redis+cluster://host:port,…`',
  },
  REDIS_TLS_URL: {
    schema: redisUrlFromEnv,
    services: 'both',
    group: 'redis',
    doc: "used instead of `REDIS_URL` when set (Heroku Redis's TLS URL)",
  },
  QUEUE_REDIS_URL: {
    schema: redisUrlFromEnv,
    derived: '`REDIS_TLS_URL`, else `REDIS_URL`',
    services: 'both',
    group: 'redis',
    doc: 'a separate Redis for the queue (needs `maxmemory-policy noeviction`)',
  },
  CACHE_REDIS_URL: {
    schema: redisUrlFromEnv,
    derived: '`REDIS_TLS_URL`, else `REDIS_URL`',
    services: 'both',
    group: 'redis',
    doc: 'a separate Redis for the cache (wants an evicting policy)',
  },
  REDIS_TLS_ALLOW_SELF_SIGNED: {
    schema: boolFromEnv,
    default: 'false',
    services: 'both',
    group: 'redis',
    doc: "accept the self-signed certificate of Heroku Redis, on Flotilla's own connections only",
  },
  REDIS_TLS_CA: {
    schema: z.string().includes('BEGIN CERTIFICATE', 'a PEM certificate'),
    services: 'both',
    group: 'redis',
    doc: 'PEM CA to verify the Redis server against: the secure alternative to `REDIS_TLS_ALLOW_SELF_SIGNED`',
    secret: true,
  },
  QUEUE_EVICTION_POLICY_CHECK: {
    schema: z.enum(['warn', 'refuse', 'off'], 'one of warn, refuse, off'),
    default: 'warn',
    services: 'both',
    group: 'redis',
    doc: 'what to do when the queue Redis can evict keys: `warn`, `refuse` (stop) or `off`',
  },

  QUEUE_PREFIX: {
    schema: z
      .string()
      .regex(/^[^:\s]*\{[^{}:\s]+\}[^:\s]*$/, 'a key prefix with a {hash-tag} and no colon, e.g. {flotilla}'),
    default: '{flotilla}',
    services: 'both',
    group: 'jobs',
    doc: "BullMQ key prefix; the `{hash tag}` keeps a queue's keys in one Redis Cluster slot",
  },
  QUEUE_SHARDS: {
    schema: intFromEnv(1, 64),
    default: '1',
    services: 'both',
    group: 'jobs',
    doc: 'copies of every queue under their own hash tags, to spread jobs over Redis Cluster masters; drain the queues before changing it',
  },
  JOB_RETENTION_COMPLETED_SECONDS: {
    schema: intFromEnv(0, 90 * 86_400),
    default: '86400',
    services: 'both',
    group: 'jobs',
    doc: 'how long completed jobs are kept (1 day)',
  },
  JOB_RETENTION_FAILED_SECONDS: {
    schema: intFromEnv(0, 365 * 86_400),
    default: '604800',
    services: 'both',
    group: 'jobs',
    doc: 'how long failed jobs are kept (7 days)',
  },
  JOB_RETENTION_COUNT: {
    schema: intFromEnv(1, 10_000_000),
    default: '10000',
    services: 'both',
    group: 'jobs',
    doc: 'the most completed, and the most failed, jobs kept per queue, whatever their age',
  },
  QUEUE_EVENTS_MAX_LEN: {
    schema: intFromEnv(100, 10_000_000),
    default: '10000',
    services: 'both',
    group: 'jobs',
    doc: "bound of each queue's event stream",
  },
  JOB_WAIT_MAX_SECONDS: {
    schema: secondsFromEnv(0, 120),
    default: '25',
    services: 'web',
    group: 'jobs',
    doc: 'the largest `?wait=` a job read may long-poll',
  },
  JOB_ID_SECRET: {
    schema: z.string().min(32, 'a secret of at least 32 characters'),
    derived: 'generated, kept in Redis',
    services: 'web',
    group: 'jobs',
    doc: 'key for the job ids derived from `Idempotency-Key` headers',
    secret: true,
  },
  DURABLE_SUBMISSIONS: {
    schema: boolFromEnv,
    default: 'false',
    services: 'web',
    group: 'jobs',
    doc: "answer 202 only once the job is in Redis's append-only file on disk (WAITAOF on Redis ≥ 7.2; older servers must run `appendfsync always`, checked at start)",
  },
  SUBMISSION_MEMORY_LIMIT_PERCENT: {
    schema: intFromEnv(1, 100),
    default: '90',
    services: 'web',
    group: 'jobs',
    doc: "refuse submissions (503) once the queue Redis uses this share of its `maxmemory`, leaving the rest to the workers; 100 leaves it to Redis's own OOM",
  },
  WORKER_QUEUES: {
    schema: listFromEnv(z.string().regex(/^[a-z][a-z0-9-]*$/, 'queue names like default,cpu')),
    derived: 'every declared queue',
    services: 'worker',
    group: 'jobs',
    doc: 'queues this worker consumes, e.g. `cpu`',
  },
  WORKER_THREADS: {
    schema: boolFromEnv,
    default: 'true',
    services: 'worker',
    group: 'jobs',
    doc: "run sandboxed queues' jobs in worker threads; `false` runs them on the main thread, where a CPU profile of the process sees them",
  },
  WORKER_LOCK_DURATION_MS: {
    schema: intFromEnv(1000, 3_600_000),
    default: '30000',
    services: 'worker',
    group: 'jobs',
    doc: "how long a job's lock lasts unless the worker renews it; a job whose lock runs out counts as stalled",
  },
  WORKER_STALLED_INTERVAL_MS: {
    schema: intFromEnv(1000, 3_600_000),
    derived: '`WORKER_LOCK_DURATION_MS`',
    services: 'worker',
    group: 'jobs',
    doc: 'how often a worker looks for stalled jobs',
  },
  WORKER_MAX_STALLED_COUNT: {
    schema: intFromEnv(0, 100),
    default: '2',
    services: 'worker',
    group: 'jobs',
    doc: 'times a stalled job is taken up again before it fails',
  },
  WORKER_LIVENESS_TIMEOUT_SECONDS: {
    // An idle loop hears from Redis at least every 10 s (BullMQ's longest block), so less would flap.
    schema: secondsFromEnv(15, 3600),
    default: '60',
    services: 'worker',
    group: 'jobs',
    doc: "the worker's `/healthz` answers 503 when a consumer loop has heard nothing from a reachable Redis this long",
  },

  HTTP_KEEP_ALIVE_TIMEOUT: {
    schema: secondsFromEnv(1, 3600),
    default: '95',
    services: 'web',
    group: 'http',
    doc: "seconds an idle connection stays open; above PaaS routers' idle timeouts (Heroku 90 s)",
  },
  HTTP_HEADERS_TIMEOUT: {
    schema: secondsFromEnv(1, 600),
    default: '20',
    services: 'web',
    group: 'http',
    doc: "seconds a client has to send a request's headers (at most `HTTP_REQUEST_TIMEOUT`); slower ones get 408 and the connection is cut (slow-loris)",
  },
  HTTP_REQUEST_TIMEOUT: {
    schema: secondsFromEnv(1, 3600),
    default: '60',
    services: 'web',
    group: 'http',
    doc: 'seconds a client has to send a whole request, headers and body',
  },
  HTTP_MAX_HEADER_BYTES: {
    schema: intFromEnv(1024, 1024 * 1024),
    default: '16384',
    services: 'web',
    group: 'http',
    doc: 'larger request headers get 431',
  },
  REQUEST_BODY_LIMIT_BYTES: {
    schema: intFromEnv(64, 100 * 1024 * 1024),
    default: '102400',
    services: 'web',
    group: 'http',
    doc: 'larger bodies get 413',
  },
  SSE_HEARTBEAT_SECONDS: {
    schema: secondsFromEnv(1, 50),
    default: '15',
    services: 'web',
    group: 'http',
    doc: "how often an event stream sends a comment; well inside Heroku's 55 s idle window",
  },

  CORS_ORIGINS: {
    schema: originsFromEnv,
    derived: 'none: CORS off',
    services: 'web',
    group: 'security',
    doc: 'origins whose pages may call `/api`, e.g. `https://app.example.com,http://localhost:5173`, or `*`',
  },
  TRUST_PROXY: {
    schema: trustProxyFromEnv,
    // Platform routers and ingresses reach the process from internal addresses and append the
    // client's address; a client connecting directly (a public peer) cannot name another.
    default: 'loopback,linklocal,uniquelocal',
    services: 'web',
    group: 'security',
    doc: 'peers believed when they name the client in `X-Forwarded-For`: `false`, a hop count, or addresses and CIDRs',
  },
  RATE_LIMIT_REQUESTS: {
    schema: intFromEnv(0, 10_000_000),
    default: '6000',
    services: 'web',
    group: 'security',
    doc: 'requests per client and window on `/api`, counted in the cache Redis; 0 switches the limit off',
  },
  RATE_LIMIT_WINDOW_SECONDS: {
    schema: intFromEnv(1, 86_400),
    default: '60',
    services: 'web',
    group: 'security',
    doc: 'the window of `RATE_LIMIT_REQUESTS`',
  },
  SSE_MAX_STREAMS_PER_CLIENT: {
    schema: intFromEnv(1, 100_000),
    default: '20',
    services: 'web',
    group: 'security',
    doc: 'event streams one client may hold open at once on one web process',
  },
  AUTH_FAILURE_LIMIT: {
    schema: intFromEnv(1, 10_000),
    default: '10',
    services: 'web',
    group: 'security',
    doc: 'failed authentications (401s) a client may have in 15 minutes; past it, its requests that carry credentials get 429 until the window ends',
  },
  ADMIN_TOKEN: {
    schema: z.string().min(24, longToken),
    services: 'web',
    group: 'security',
    doc: 'bearer token of `/dashboard` and the admin API; without it or `ADMIN_BASIC_AUTH` the dashboard is off',
    secret: true,
  },
  ADMIN_BASIC_AUTH: {
    schema: z.string().regex(/^[^:]+:.{16,}$/, credentials),
    services: 'web',
    group: 'security',
    doc: '`user:password` of `/dashboard` and the admin API, instead of `ADMIN_TOKEN`',
    secret: true,
  },
  DASHBOARD_ALLOW_UNAUTHENTICATED: {
    schema: boolFromEnv,
    default: 'false',
    services: 'web',
    group: 'security',
    doc: 'serve the dashboard to anyone (local use only; refused with admin credentials set)',
  },
  DASHBOARD_ACTIONS: {
    schema: listFromEnv(z.enum(BOARD_ACTIONS, `one of ${BOARD_ACTIONS.join(', ')}`)),
    default: 'retry,promote,remove',
    services: 'web',
    group: 'security',
    doc: `what bull-board under \`/dashboard/jobs\` may change: any of ${BOARD_ACTIONS.join(', ')}`,
  },

  CACHE_PREFIX: {
    schema: z.string().regex(/^[^{}\s]{1,64}$/, 'a key prefix without braces or spaces, e.g. flotilla:cache:'),
    default: 'flotilla:cache:',
    services: 'both',
    group: 'cache',
    doc: 'prefix of cache keys; each cache adds a `{name}` hash tag',
  },
  CACHE_SHARDS: {
    schema: intFromEnv(1, 64),
    default: '1',
    services: 'both',
    group: 'cache',
    doc: 'key groups the page and fragment caches spread their entries over, each under its own hash tag, to spread them over Redis Cluster masters; every process must use the same count (see docs/caching.md)',
  },
  CACHE_L1_MAX_ENTRIES: {
    schema: intFromEnv(0, 10_000_000),
    default: '10000',
    services: 'both',
    group: 'cache',
    doc: "entries in each cache's in-process tier; 0: no memory tier",
  },
  CACHE_L1_MAX_MB: {
    schema: intFromEnv(1, 65_536),
    default: '64',
    services: 'both',
    group: 'cache',
    doc: "megabytes of each cache's in-process tier",
  },
  PAGE_CACHE_TTL_SECONDS: {
    schema: intFromEnv(0, 86_400),
    default: '300',
    services: 'web',
    group: 'cache',
    doc: 'how long a cached page stays fresh; 0 switches the full-page cache off',
  },
  DATA_PREFIX: {
    schema: z.string().regex(/^[^{}\s]{1,64}$/, 'a key prefix without braces or spaces, e.g. flotilla:data:'),
    default: 'flotilla:data:',
    services: 'both',
    group: 'cache',
    doc: "prefix of the example domain's content keys (in the queue Redis, which never evicts)",
  },

  // Long enough that guessing is hopeless even where failed attempts are not slowed.
  METRICS_BEARER_TOKEN: {
    schema: z.string().min(24, longToken),
    services: 'both',
    group: 'metrics',
    doc: 'bearer token that protects `/metrics`',
    secret: true,
  },
  METRICS_BASIC_AUTH: {
    schema: z.string().regex(/^[^:]+:.{16,}$/, credentials),
    services: 'both',
    group: 'metrics',
    doc: '`user:password` that protects `/metrics`, instead of `METRICS_BEARER_TOKEN`',
    secret: true,
  },
  METRICS_PUSHGATEWAY_URL: {
    schema: z.url({ protocol: /^https?$/, error: 'an http(s) URL of a Prometheus Pushgateway' }),
    services: 'both',
    group: 'metrics',
    doc: 'push metrics to this Pushgateway (platforms that cannot be scraped)',
  },
  METRICS_PUSH_INTERVAL_SECONDS: {
    schema: secondsFromEnv(1, 3600),
    default: '15',
    services: 'both',
    group: 'metrics',
    doc: 'how often metrics are pushed',
  },
  HIREFIRE_TOKEN: {
    schema: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'a token of 16 to 128 letters, digits, - or _'),
    services: 'web',
    group: 'metrics',
    doc: "serves the queues' latency at `/hirefire/<token>/info` for HireFire (Heroku worker autoscaling); unset: no endpoint",
    secret: true,
  },

  MEMBERSHIP_HEARTBEAT_SECONDS: {
    schema: secondsFromEnv(0.1, 60),
    default: '5',
    services: 'both',
    group: 'fleet',
    doc: 'how often a process tells the fleet it is alive',
  },
  MEMBERSHIP_TTL_SECONDS: {
    schema: secondsFromEnv(0.3, 600),
    derived: 'three heartbeats',
    services: 'both',
    group: 'fleet',
    doc: 'the silence after which a process counts as gone; at least two heartbeats',
  },
  URL_CHECK_ALLOW: {
    // Read by the web too, which refuses targets the worker's checker would refuse.
    schema: listFromEnv(
      z
        .string()
        .regex(/^([0-9a-fA-F.:]+\/\d{1,3}|\*?\.?[a-z0-9.-]+)$/, 'CIDRs or host names like 10.0.0.0/8,status.internal'),
    ),
    services: 'both',
    group: 'fleet',
    doc: 'CIDRs or host names the URL check may reach besides public addresses, e.g. `10.0.0.0/8,status.internal`; give web and worker the same',
  },
  URL_CHECK_INTERVAL_SECONDS: {
    schema: secondsFromEnv(1, 86_400),
    default: '60',
    services: 'worker',
    group: 'fleet',
    doc: 'length of a round of the partitioned URL check',
  },
  URL_CHECK_CONCURRENCY: {
    schema: intFromEnv(1, 1000),
    default: '10',
    services: 'worker',
    group: 'fleet',
    doc: 'URL checks in flight per worker',
  },
  URL_CHECK_TIMEOUT_SECONDS: {
    schema: secondsFromEnv(0.1, 120),
    default: '10',
    services: 'worker',
    group: 'fleet',
    doc: 'timeout of one URL check',
  },

  PROFILE_MAX_SECONDS: {
    schema: intFromEnv(1, 3600),
    default: '60',
    services: 'both',
    group: 'profiling',
    doc: 'the longest CPU or sampling heap profile an operator may take',
  },
  PROFILE_MAX_MB: {
    schema: intFromEnv(1, 4096),
    default: '64',
    services: 'both',
    group: 'profiling',
    doc: 'the largest profile a process sends back through the cache Redis',
  },
} as const satisfies Record<string, Setting>;
