import { ArticleFragments, ArticleStore, tagInvalidator } from '@flotilla/articles';
import { Cache } from '@flotilla/cache';
import type { WorkerConfig } from '@flotilla/config';
import { catalog } from '@flotilla/jobs';
import { drainHttpServer, type Shutdown } from '@flotilla/lifecycle';
import { CacheMetrics, JobMetrics, QueueMetrics, createMetricsRegistry, metricsHandler, registerRedisUp, registrySource, startMetricsPush } from '@flotilla/metrics';
import { checkEvictionPolicy } from '@flotilla/queue';
import { Queue } from 'bullmq';
import { RedisConnections, isReachable, redactRedisUrl, type RedisClient, type RedisRole } from '@flotilla/redis';
import type { Logger } from '@flotilla/telemetry';
import { createHandlers } from './handlers/index.js';
import { createHealthServer } from './health-server.js';
import { createWorkerService } from './worker-service.js';

/**
 * Starts one worker process: connects to Redis, builds the handlers and the BullMQ workers,
 * opens the health port, and registers the shutdown steps in the order a drain needs them.
 */
export async function startWorkerProcess(config: WorkerConfig, logger: Logger, shutdown: Shutdown): Promise<void> {
  const redis = new RedisConnections({
    allowSelfSignedTls: config.redis.allowSelfSignedTls,
    tlsCa: config.redis.tlsCa,
    onError: (connection, error) => logger.warn({ err: error.message, connection }, 'redis connection error'),
  });
  shutdown.add('close redis connections', () => redis.closeAll(), 'release');
  const connect = (name: string, url = config.redis.queueUrl, role: RedisRole = 'consumer'): RedisClient => redis.open(url, role, name);

  const control = connect('flotilla:worker:control');
  await checkEvictionPolicy(control, config.queue.evictionPolicyCheck, logger);
  const cacheClient = connect('flotilla:worker:cache', config.redis.cacheUrl);
  const cacheOptions = {
    redis: cacheClient,
    subscribe: () => connect('flotilla:worker:cache-events', config.redis.cacheUrl, 'subscriber'),
    prefix: config.cache.prefix,
    // The worker writes and invalidates; it serves nothing, so it keeps no in-process copy.
    l1: false as const,
  };
  const fragmentCache = await Cache.create<string>({ ...cacheOptions, name: 'fragments' });
  // Only invalidated from here (the web reads pages), so the value codec never runs.
  const pageCache = await Cache.create({ ...cacheOptions, name: 'pages' });
  const store = new ArticleStore({ redis: control, prefix: config.dataPrefix });
  const handlers = createHandlers({
    store,
    fragments: new ArticleFragments({ cache: fragmentCache, store }),
    invalidate: tagInvalidator([fragmentCache, pageCache]),
  });
  const registry = createMetricsRegistry('worker');
  const jobMetrics = new JobMetrics(registry);
  const cacheMetrics = new CacheMetrics(registry);
  for (const cache of [fragmentCache, pageCache]) cacheMetrics.observe(cache);
  registerRedisUp(registry, { queue: control, cache: cacheClient });
  const service = createWorkerService({
    config,
    catalog,
    handlers,
    logger,
    connect: (name) => connect(name),
    observe: (worker, queue) => jobMetrics.observe(worker, queue),
  });
  // Every declared queue, also those another worker group consumes: the gauges are fleet-wide.
  const queues = catalog.queues.map((q) => new Queue(q.name, { connection: control, prefix: config.queue.prefix }));
  new QueueMetrics(registry, queues);
  const health = createHealthServer({
    ready: async () => !shutdown.isDraining && service.isRunning() && (await isReachable(control)),
    metrics: metricsHandler(registrySource(registry), config.metrics.auth),
  });
  if (config.metrics.push) {
    const pusher = startMetricsPush(registry, { url: config.metrics.push.url, intervalMs: config.metrics.push.intervalSeconds * 1000, job: 'flotilla-worker' }, (error) =>
      logger.warn({ err: error.message }, 'pushing metrics failed'),
    );
    shutdown.add('stop pushing metrics', () => pusher.stop(), 'release');
  }
  health.listen(config.port, () =>
    logger.info({ port: config.port, redis: redactRedisUrl(config.redis.queueUrl), platform: config.platform }, 'worker ready'),
  );
  shutdown.add('stop consuming and finish in-flight jobs', (deadline) => service.stop(deadline));
  // After the jobs (their handlers write to the caches), before the connections close.
  shutdown.add('close caches', async () => {
    await Promise.all([fragmentCache.close(), pageCache.close(), ...queues.map((q) => q.close())]);
  });
  shutdown.add('close health port', (deadline) => drainHttpServer(health, deadline));
}
