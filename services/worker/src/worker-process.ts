import { ArticleFragments, ArticleStore, tagInvalidator } from '@flotilla/articles';
import { Cache } from '@flotilla/cache';
import {
  GroupMembership,
  MembershipWatcher,
  Partitioner,
  ProcessVitals,
  processCapabilities,
} from '@flotilla/coordination';
import type { WorkerConfig } from '@flotilla/config';
import { catalog, urlCheckReportJob } from '@flotilla/jobs';
import { drainHttpServer, type Shutdown } from '@flotilla/lifecycle';
import {
  CacheMetrics,
  JobMetrics,
  QueueMetrics,
  createMetricsRegistry,
  metricsHandler,
  registerRedisConnections,
  registerRedisEpoch,
  registerRedisUp,
  registrySource,
  startMetricsPush,
} from '@flotilla/metrics';
import { ProfileAgent } from '@flotilla/profiling';
import { QueueShards, checkEvictionPolicy, joinQueueEpoch } from '@flotilla/queue';
import { Queue } from 'bullmq';
import { RedisConnections, isReachable, redactRedisUrl } from '@flotilla/redis';
import type { Logger } from '@flotilla/telemetry';
import { UrlCheckStore, UrlChecker } from '@flotilla/url-checker';
import { createHandlers } from './handlers/index.js';
import { createHealthServer } from './health-server.js';
import { startUrlCheckRounds } from './url-check-rounds.js';
import { createWorkerService } from './worker-service.js';

/**
 * Starts one worker process: connects to Redis, builds the handlers and the BullMQ workers,
 * opens the health port, and registers the shutdown steps in the order a drain needs them.
 */
export async function startWorkerProcess(config: WorkerConfig, logger: Logger, shutdown: Shutdown): Promise<void> {
  const redis = new RedisConnections({
    service: 'worker',
    servers: { queue: config.redis.queueUrl, cache: config.redis.cacheUrl },
    // A worker waits out an outage: its commands queue until Redis is back.
    commandRole: 'consumer',
    allowSelfSignedTls: config.redis.allowSelfSignedTls,
    tlsCa: config.redis.tlsCa,
    onError: (connection, error) => logger.warn({ err: error.message, connection }, 'redis connection error'),
  });
  shutdown.add('close redis connections', () => redis.closeAll(), 'release');

  const control = redis.command('queue');
  await checkEvictionPolicy(control, config.queue.evictionPolicyCheck, logger);
  const epoch = await joinQueueEpoch(control, config.queue.prefix);
  const cacheClient = redis.command('cache');
  const cacheOptions = {
    redis: cacheClient,
    subscriber: redis.subscriber('cache'),
    prefix: config.cache.prefix,
    groups: config.cache.shards,
    // The worker writes and invalidates; it serves nothing, so it keeps no in-process copy.
    l1: false as const,
  };
  const fragmentCache = await Cache.create<string>({ ...cacheOptions, name: 'fragments' });
  // Only invalidated from here (the web reads pages), so the value codec never runs.
  const pageCache = await Cache.create({ ...cacheOptions, name: 'pages' });
  const store = new ArticleStore({ redis: control, prefix: config.dataPrefix });
  const { urlCheck } = config;
  const checker = new UrlChecker({
    allow: config.urlCheckAllow,
    timeoutMs: urlCheck.timeoutMs,
    // The addresses stay in the logs: results are shown to API clients.
    onBlocked: (url, detail) => logger.warn({ url, detail }, 'URL check blocked'),
  });
  const urlChecks = new UrlCheckStore(control, config.dataPrefix);
  const handlers = createHandlers({
    store,
    fragments: new ArticleFragments({ cache: fragmentCache, store }),
    invalidate: tagInvalidator([fragmentCache, pageCache]),
    checker,
    urlChecks,
    urlCheckIntervalMs: urlCheck.intervalMs,
    data: { redis: control, prefix: config.dataPrefix },
  });
  const registry = createMetricsRegistry('worker');
  const jobMetrics = new JobMetrics(registry);
  const cacheMetrics = new CacheMetrics(registry);
  for (const cache of [fragmentCache, pageCache]) cacheMetrics.observe(cache);
  registerRedisUp(registry, { queue: control, cache: cacheClient });
  registerRedisConnections(registry, () => redis.census());
  registerRedisEpoch(registry, { queue: epoch });
  const shards = new QueueShards(config.queue.prefix, config.queue.shards);
  const service = createWorkerService({
    config,
    catalog,
    shards,
    handlers,
    logger,
    connection: control,
    trackBlocking: (client) => redis.track('queue', 'blocking', client),
    observe: (worker, queue, shard) => jobMetrics.observe(worker, queue, shard),
  });
  // Every declared queue, also those another worker group consumes: the gauges are fleet-wide.
  const queues = catalog.queues.map((q) =>
    shards.map((shard) => new Queue(q.name, { connection: control, prefix: shard.prefix })),
  );
  new QueueMetrics(registry, queues);
  const subscriber = redis.subscriber('queue');
  const health = createHealthServer({
    problems: async () => {
      // On the pub/sub connection: on the command one a PING would wait behind the hung writes this probe is for.
      const stalls = (await subscriber.reachable()) ? service.stalls(profiler.lastPause?.endedAt) : [];
      // Says why the platform is about to restart this process.
      if (stalls.length > 0) logger.error({ problems: stalls }, 'liveness check failed');
      return stalls;
    },
    ready: async () =>
      !shutdown.isDraining && service.isRunning() && (await isReachable(control)) && (await epoch.check()) !== 'lost',
    metrics: metricsHandler(registrySource(registry), config.metrics.auth),
  });
  if (config.metrics.push) {
    const pusher = startMetricsPush(
      registry,
      { url: config.metrics.push.url, intervalMs: config.metrics.push.intervalMs, job: 'flotilla-worker' },
      (error) => logger.warn({ err: error.message }, 'pushing metrics failed'),
    );
    shutdown.add('stop pushing metrics', () => pusher.stop(), 'release');
  }
  // Registered from every worker, on the first shard; BullMQ keeps one scheduler per id, so one
  // report runs per period.
  await queues
    .find(([first]) => first.name === urlCheckReportJob.queue)?.[0]
    .upsertJobScheduler(
      urlCheckReportJob.name,
      { every: urlCheck.intervalMs },
      {
        name: urlCheckReportJob.name,
        data: {},
        opts: {
          attempts: urlCheckReportJob.retry.attempts,
          removeOnComplete: { count: 1000 },
          removeOnFail: { count: 1000 },
        },
      },
    );

  const membership = new GroupMembership(control, `${config.dataPrefix}fleet:`);
  const vitals = ProcessVitals.start();
  shutdown.add('stop measuring the event loop', () => vitals.stop(), 'release');
  const capabilities = processCapabilities('worker', config.release, {
    queues: service.queues.join(','),
    concurrency: service.queues.map((name) => `${name}:${catalog.queue(name)?.concurrency ?? 0}`).join(','),
  });
  const member = await membership.join('worker', () => ({ ...capabilities, ...vitals.read() }), {
    ...config.membership,
    onError: (error) => logger.warn({ err: error.message }, 'membership heartbeat failed'),
  });
  const profiler = await ProfileAgent.start({
    redis: cacheClient,
    subscriber: redis.subscriber('cache'),
    prefix: config.profiling.prefix,
    processId: member.id,
    maxBytes: config.profiling.maxBytes,
    logger,
  });
  const workers = await MembershipWatcher.start(membership, 'worker', {
    subscriber,
    pollMs: config.membership.heartbeatMs,
  });
  const partitioner = new Partitioner(workers, member.id);
  partitioner.on('change', (members) => logger.info({ workers: members.length }, 'URL check partitions re-balanced'));
  const rounds = startUrlCheckRounds({
    store: urlChecks,
    checker,
    partitioner,
    memberId: member.id,
    intervalMs: urlCheck.intervalMs,
    concurrency: urlCheck.concurrency,
    logger,
  });

  health.listen(config.port, config.listenHost, () =>
    logger.info(
      { port: config.port, redis: redactRedisUrl(config.redis.queueUrl), platform: config.platform },
      'worker ready',
    ),
  );
  // First, so the other workers take over this one's URL check share at once.
  shutdown.add('leave the fleet', async () => {
    await member.leave();
    await rounds.stop();
    await workers.close();
  });
  shutdown.add('stop consuming and finish in-flight jobs', (deadline) => service.stop(deadline));
  shutdown.add('stop profiling', () => profiler.close());
  // After the jobs (their handlers write to the caches), before the connections close.
  shutdown.add('close caches', async () => {
    await Promise.all([fragmentCache.close(), pageCache.close(), ...queues.flat().map((q) => q.close())]);
  });
  shutdown.add('close health port', (deadline) => drainHttpServer(health, deadline));
  shutdown.add('close the URL checker', () => checker.close(), 'release');
}
