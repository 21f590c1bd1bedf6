import { describe, expect, it } from 'vitest';
import { ConfigError, loadWebConfig, loadWorkerConfig } from '../src/index.js';

const base = { REDIS_URL: 'redis://127.0.0.1:6390' };

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadWebConfig', () => {
  it('applies defaults and freezes the result', () => {
    const config = loadWebConfig(base);
    expect(config.port).toBe(3000);
    expect(config.webConcurrency).toBe(1);
    expect(config.redis.queueUrl).toBe(base.REDIS_URL);
    expect(config.redis.cacheUrl).toBe(base.REDIS_URL);
    expect(config.queue.prefix).toBe('{flotilla}');
    expect(config.cache.shards).toBe(1);
    expect(config.shutdown.timeoutMs).toBe(25_000);
    expect(config.http.keepAliveTimeoutMs).toBeGreaterThan(90_000);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.redis)).toBe(true);
  });

  it('prefers REDIS_TLS_URL and lets queue and cache point at different servers', () => {
    const config = loadWebConfig({
      ...base,
      REDIS_TLS_URL: 'rediss://:pw@h:6380',
      CACHE_REDIS_URL: 'redis://cache:6379',
    });
    expect(config.redis.queueUrl).toBe('rediss://:pw@h:6380');
    expect(config.redis.cacheUrl).toBe('redis://cache:6379');
  });

  it('listens on every interface unless LISTEN_HOST names an address, and refuses a name', () => {
    expect(loadWebConfig(base).listenHost).toBeUndefined();
    expect(loadWebConfig({ ...base, LISTEN_HOST: '127.0.0.1' }).listenHost).toBe('127.0.0.1');
    expect(loadWorkerConfig({ ...base, LISTEN_HOST: '::1' }).listenHost).toBe('::1');
    const error = errorOf(() => loadWebConfig({ ...base, LISTEN_HOST: 'localhost' }));
    expect(error.variable).toBe('LISTEN_HOST');
    expect(error.message).toContain('an IP address');
  });

  it('honours PORT, WEB_CONCURRENCY and the platform shutdown budget', () => {
    expect(loadWebConfig({ ...base, PORT: '8080', WEB_CONCURRENCY: '4' })).toMatchObject({
      port: 8080,
      webConcurrency: 4,
    });
    expect(loadWebConfig({ ...base, K_SERVICE: 'web' })).toMatchObject({
      platform: 'cloud-run',
      shutdown: { timeoutMs: 8000 },
    });
    expect(loadWebConfig({ ...base, DYNO: 'web.1' })).toMatchObject({
      platform: 'heroku',
      shutdown: { timeoutMs: 25_000 },
    });
    expect(loadWebConfig({ ...base, K_SERVICE: 'web', SHUTDOWN_TIMEOUT: '9.5' }).shutdown.timeoutMs).toBe(9500);
  });

  it.each([
    [{}, 'REDIS_URL: expected a redis:// or rediss:// URL (or QUEUE_REDIS_URL and CACHE_REDIS_URL), got nothing'],
    [{ ...base, PORT: 'eighty' }, 'PORT: expected an integer from 1 to 65535, got "eighty"'],
    [{ ...base, PORT: '70000' }, 'PORT: expected an integer from 1 to 65535, got "70000"'],
    [{ ...base, WEB_CONCURRENCY: '0' }, 'WEB_CONCURRENCY: expected an integer from 1 to 256, got "0"'],
    [
      { ...base, LOG_LEVEL: 'loud' },
      'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ],
    [
      { REDIS_URL: 'http://x' },
      'REDIS_URL: expected a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL, got "http://x"',
    ],
    [
      { ...base, QUEUE_PREFIX: 'flotilla' },
      'QUEUE_PREFIX: expected a key prefix with a {hash-tag} and no colon, e.g. {flotilla}, got "flotilla"',
    ],
    [{ ...base, REDIS_TLS_ALLOW_SELF_SIGNED: 'maybe' }, 'REDIS_TLS_ALLOW_SELF_SIGNED'],
    [{ ...base, CACHE_SHARDS: '0' }, 'CACHE_SHARDS: expected an integer from 1 to 64, got "0"'],
    [{ ...base, SHUTDOWN_TIMEOUT: '-1' }, 'SHUTDOWN_TIMEOUT: expected a number of seconds from 1 to 3600, got "-1"'],
  ])('rejects %j with one line naming the variable', (env, message) => {
    const error = errorOf(() => loadWebConfig(env));
    expect(error.message).toContain(message);
    expect(error.message).not.toContain('\n');
  });

  it('keeps the dashboard off unless credentials or the local flag say otherwise', () => {
    expect(loadWebConfig(base).dashboard).toEqual({ access: 'off' });
    expect(loadWebConfig({ ...base, DASHBOARD_ALLOW_UNAUTHENTICATED: 'true' }).dashboard).toEqual({ access: 'open' });
    expect(loadWebConfig({ ...base, ADMIN_BASIC_AUTH: 'ops:long-enough-to-pass' }).dashboard).toEqual({
      access: 'credentials',
      auth: { kind: 'basic', user: 'ops', password: 'long-enough-to-pass' },
    });
    expect(
      errorOf(() => loadWebConfig({ ...base, ADMIN_TOKEN: 'a'.repeat(24), DASHBOARD_ALLOW_UNAUTHENTICATED: 'true' }))
        .variable,
    ).toBe('DASHBOARD_ALLOW_UNAUTHENTICATED');
    expect(errorOf(() => loadWebConfig({ ...base, ADMIN_TOKEN: 'short' })).message).toBe(
      'ADMIN_TOKEN: expected a token of at least 24 characters, got "***"',
    );
    // Short enough to guess: refused at start-up, passwords and tokens alike.
    expect(errorOf(() => loadWebConfig({ ...base, ADMIN_BASIC_AUTH: 'ops:12345678' })).variable).toBe(
      'ADMIN_BASIC_AUTH',
    );
    expect(errorOf(() => loadWebConfig({ ...base, ADMIN_TOKEN: 'a'.repeat(23) })).variable).toBe('ADMIN_TOKEN');
    expect(errorOf(() => loadWorkerConfig({ ...base, METRICS_BASIC_AUTH: 'prometheus:s3cret-pass' })).variable).toBe(
      'METRICS_BASIC_AUTH',
    );
    expect(errorOf(() => loadWorkerConfig({ ...base, METRICS_BEARER_TOKEN: 'x'.repeat(16) })).variable).toBe(
      'METRICS_BEARER_TOKEN',
    );
  });

  it('answers submissions before fsync unless DURABLE_SUBMISSIONS asks for durability', () => {
    expect(loadWebConfig(base).durableSubmissions).toBe(false);
    expect(loadWebConfig({ ...base, DURABLE_SUBMISSIONS: 'true' }).durableSubmissions).toBe(true);
    expect(errorOf(() => loadWebConfig({ ...base, DURABLE_SUBMISSIONS: 'always' })).variable).toBe(
      'DURABLE_SUBMISSIONS',
    );
  });

  it('refuses submissions from 90% of the queue Redis maxmemory unless SUBMISSION_MEMORY_LIMIT_PERCENT says otherwise', () => {
    expect(loadWebConfig(base).submissionMemoryLimit).toBe(0.9);
    expect(loadWebConfig({ ...base, SUBMISSION_MEMORY_LIMIT_PERCENT: '100' }).submissionMemoryLimit).toBe(1);
    expect(errorOf(() => loadWebConfig({ ...base, SUBMISSION_MEMORY_LIMIT_PERCENT: '0' })).message).toBe(
      'SUBMISSION_MEMORY_LIMIT_PERCENT: expected an integer from 1 to 100, got "0"',
    );
  });

  it('has safe security defaults: no CORS, internal proxies trusted, a generous rate limit, timeouts set', () => {
    const config = loadWebConfig(base);
    expect(config.security).toEqual({
      corsOrigins: [],
      trustProxy: ['loopback', 'linklocal', 'uniquelocal'],
      rateLimit: { requests: 6000, windowMs: 60_000 },
      maxStreamsPerClient: 20,
      failedAuthLimit: 10,
    });
    expect(config.http).toMatchObject({ headersTimeoutMs: 20_000, requestTimeoutMs: 60_000, maxHeaderBytes: 16_384 });
  });

  it('reads CORS origins, trust proxy, the rate limit, the stream cap and the HTTP timeouts', () => {
    const config = loadWebConfig({
      ...base,
      CORS_ORIGINS: 'https://App.example.com, http://localhost:5173',
      TRUST_PROXY: '10.0.0.0/8,loopback,::1',
      RATE_LIMIT_REQUESTS: '100',
      RATE_LIMIT_WINDOW_SECONDS: '10',
      SSE_MAX_STREAMS_PER_CLIENT: '3',
      AUTH_FAILURE_LIMIT: '5',
      HTTP_HEADERS_TIMEOUT: '2',
      HTTP_REQUEST_TIMEOUT: '5',
      HTTP_MAX_HEADER_BYTES: '8192',
    });
    expect(config.security).toEqual({
      corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
      trustProxy: ['10.0.0.0/8', 'loopback', '::1'],
      rateLimit: { requests: 100, windowMs: 10_000 },
      maxStreamsPerClient: 3,
      failedAuthLimit: 5,
    });
    expect(config.http).toMatchObject({ headersTimeoutMs: 2000, requestTimeoutMs: 5000, maxHeaderBytes: 8192 });
    expect(loadWebConfig({ ...base, CORS_ORIGINS: '*' }).security.corsOrigins).toBe('*');
    expect(loadWebConfig({ ...base, TRUST_PROXY: '2' }).security.trustProxy).toBe(2);
    expect(loadWebConfig({ ...base, TRUST_PROXY: 'false' }).security.trustProxy).toBe(false);
    expect(loadWebConfig({ ...base, RATE_LIMIT_REQUESTS: '0' }).security.rateLimit).toBeUndefined();
  });

  it.each([
    [
      { CORS_ORIGINS: 'https://app.example.com/path' },
      'CORS_ORIGINS: expected * or origins like https://app.example.com,http://localhost:5173, got "https://app.example.com/path"',
    ],
    [{ CORS_ORIGINS: 'null' }, 'CORS_ORIGINS: expected * or origins like'],
    [
      { TRUST_PROXY: 'true' },
      'TRUST_PROXY: expected false, a hop count from 1 to 9, or addresses, CIDRs, loopback, linklocal, uniquelocal, got "true"',
    ],
    [{ TRUST_PROXY: '10.0.0.0/33' }, 'TRUST_PROXY: expected false, a hop count'],
    [{ RATE_LIMIT_REQUESTS: '-5' }, 'RATE_LIMIT_REQUESTS: expected an integer from 0 to 10000000, got "-5"'],
    [{ SSE_MAX_STREAMS_PER_CLIENT: '0' }, 'SSE_MAX_STREAMS_PER_CLIENT: expected an integer from 1 to 100000, got "0"'],
    [
      { HTTP_HEADERS_TIMEOUT: '30', HTTP_REQUEST_TIMEOUT: '10' },
      'HTTP_HEADERS_TIMEOUT: expected at most HTTP_REQUEST_TIMEOUT (10), got "30"',
    ],
    [{ HTTP_MAX_HEADER_BYTES: '100' }, 'HTTP_MAX_HEADER_BYTES: expected an integer from 1024 to 1048576, got "100"'],
  ])('rejects the security setting %j with one line naming it', (env, message) => {
    const error = errorOf(() => loadWebConfig({ ...base, ...env }));
    expect(error.message).toContain(message);
    expect(error.message).not.toContain('\n');
  });

  it('never echoes a password or a secret', () => {
    const url = errorOf(() => loadWebConfig({ REDIS_URL: 'http://user:hunter2@host' }));
    expect(url.message).not.toContain('hunter2');
    const secret = errorOf(() => loadWebConfig({ ...base, JOB_ID_SECRET: 'short-secret' }));
    expect(secret.message).toBe('JOB_ID_SECRET: expected a secret of at least 32 characters, got "***"');
  });
});

describe('loadWorkerConfig', () => {
  it('defaults to port 3001, every queue, and stall detection as long as the lock', () => {
    const config = loadWorkerConfig({ ...base, WORKER_LOCK_DURATION_MS: '5000' });
    expect(config.port).toBe(3001);
    expect(config.worker.queues).toBeUndefined();
    expect(config.worker.stalledIntervalMs).toBe(5000);
    expect(loadWorkerConfig({ ...base, CACHE_SHARDS: '3' }).cache.shards).toBe(3);
  });

  it('parses WORKER_QUEUES and rejects bad names', () => {
    expect(loadWorkerConfig({ ...base, WORKER_QUEUES: 'default, cpu' }).worker.queues).toEqual(['default', 'cpu']);
    expect(errorOf(() => loadWorkerConfig({ ...base, WORKER_QUEUES: 'Default' })).variable).toBe('WORKER_QUEUES');
  });

  it('reads membership timing and the URL check settings, defaulting the ttl to three heartbeats', () => {
    const config = loadWorkerConfig({
      ...base,
      MEMBERSHIP_HEARTBEAT_SECONDS: '0.5',
      URL_CHECK_ALLOW: '127.0.0.0/8, status.internal',
    });
    expect(config.membership).toEqual({ heartbeatMs: 500, ttlMs: 1500 });
    expect(config.urlCheck).toEqual({ intervalMs: 60_000, concurrency: 10, timeoutMs: 10_000 });
    expect(config.urlCheckAllow).toEqual(['127.0.0.0/8', 'status.internal']);
  });

  it.each([
    [
      { MEMBERSHIP_HEARTBEAT_SECONDS: '5', MEMBERSHIP_TTL_SECONDS: '6' },
      'MEMBERSHIP_TTL_SECONDS: expected at least twice MEMBERSHIP_HEARTBEAT_SECONDS (5), got "6"',
    ],
    [
      { URL_CHECK_ALLOW: 'http://x/' },
      'URL_CHECK_ALLOW: expected CIDRs or host names like 10.0.0.0/8,status.internal, got "http://x/"',
    ],
    [
      { URL_CHECK_INTERVAL_SECONDS: '0' },
      'URL_CHECK_INTERVAL_SECONDS: expected a number of seconds from 1 to 86400, got "0"',
    ],
  ])('rejects %j with one line naming the variable', (env, message) => {
    expect(errorOf(() => loadWorkerConfig({ ...base, ...env })).message).toBe(message);
  });
});
