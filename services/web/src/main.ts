import cluster from 'node:cluster';
import { ConfigError, loadWebConfig, type WebConfig } from '@flotilla/config';
import { Shutdown, handleSignals } from '@flotilla/lifecycle';
import { createLogger, startTracing, type Tracing } from '@flotilla/telemetry';

// Only modules that load none of the traced libraries are imported statically: express, ioredis
// and bullmq must first load after tracing has hooked module loading, so the process itself
// (web-process.js and everything it imports) is imported dynamically below.

const FLUSH_RESERVE_MS = 1000;

async function orExit<T>(read: () => T | Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`flotilla web: ${error.message}\n`);
    process.exit(1);
  }
}

const config: WebConfig = await orExit(loadWebConfig);
const logger = createLogger({ service: 'web', level: config.logLevel });

if (config.webConcurrency > 1 && cluster.isPrimary) {
  // The primary only supervises; each forked process runs this file again and traces itself.
  const { runClusterPrimary } = await import('./cluster-primary.js');
  runClusterPrimary(config, logger);
} else {
  const tracing: Tracing = await orExit(() => startTracing({ serviceName: 'flotilla-web' }));
  tracing.reportTo(logger);
  const shutdown = new Shutdown({ logger, timeoutMs: config.shutdown.timeoutSeconds * 1000 });
  handleSignals(shutdown);
  // A release step, so it runs once requests and queue clients have finished and their spans
  // are in the last batch. It leaves a second of the budget for the release steps after it
  // (closing Redis connections): a collector that does not answer must not cost them their turn.
  shutdown.add('flush traces', (deadline) => tracing.shutdown(deadline - FLUSH_RESERVE_MS), 'release');
  logger.info({ tracing: tracing.description }, 'tracing');
  try {
    const { startWebProcess } = await import('./web-process.js');
    await startWebProcess(config, logger, shutdown);
  } catch (error) {
    logger.fatal({ err: error }, 'web failed to start');
    void shutdown.shutdown('start-up failure', 1);
  }
}
