import cluster from 'node:cluster';
import type { WebConfig } from '@flotilla/config';
import { serveClusterMetrics } from '@flotilla/metrics';
import type { Logger } from '@flotilla/telemetry';

const RESPAWN_DELAY_MS = 1000;

/**
 * WEB_CONCURRENCY > 1: this process only supervises. It forks that many web processes that
 * share one listening port (node:cluster) and replaces any that die while serving. One that
 * dies before it ever listened failed to start (bad config, Redis unreachable): replacing it
 * would loop forever, so the cluster stops with exit code 1 and the platform applies its own
 * restart back-off. SIGTERM/SIGINT are passed on; the primary exits when all have drained.
 * A scrape of /metrics reaches one process, which asks this one for the cluster's sum.
 */
export function runClusterPrimary(config: WebConfig, logger: Logger): void {
  let stopping = false;
  const listened = new Set<number>();
  serveClusterMetrics();
  for (let i = 0; i < config.webConcurrency; i++) cluster.fork();
  cluster.on('listening', (worker) => listened.add(worker.id));
  logger.info({ processes: config.webConcurrency, port: config.port }, 'web cluster starting');

  const stop = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'stopping web cluster');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    // The children enforce their own budget; this only guards against one that hangs.
    setTimeout(() => {
      logger.error('web processes did not exit in time');
      process.exit(1);
    }, config.shutdown.timeoutMs + 2000).unref();
  };

  cluster.on('exit', (worker, code, signal) => {
    const served = listened.delete(worker.id);
    if (!stopping && !served) {
      logger.fatal({ pid: worker.process.pid, code, signal }, 'web process failed to start; stopping the cluster');
      process.exitCode = 1;
      stop('start-up failure');
    } else if (!stopping) {
      logger.error({ pid: worker.process.pid, code, signal }, 'web process died; starting a replacement');
      setTimeout(() => {
        if (!stopping) cluster.fork();
      }, RESPAWN_DELAY_MS);
    }
    if (stopping && Object.keys(cluster.workers ?? {}).length === 0) {
      logger.info('web cluster stopped');
      process.exit();
    }
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
