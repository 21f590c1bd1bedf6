import { ConfigError, loadWorkerConfig, type WorkerConfig } from '@flotilla/config';
import { Shutdown, handleSignals } from '@flotilla/lifecycle';
import { createLogger, startTracing, type Tracing } from '@flotilla/telemetry';

// Only modules that load none of the traced libraries are imported statically: ioredis and
// bullmq must first load after tracing has hooked module loading, so the process itself
// (worker-process.js and everything it imports) is imported dynamically below.

const FLUSH_RESERVE_MS = 1000;

async function orExit<T>(read: () => T | Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`flotilla worker: ${error.message}\n`);
    process.exit(1);
  }
}

const config: WorkerConfig = await orExit(loadWorkerConfig);
const tracing: Tracing = await orExit(() => startTracing({ serviceName: 'flotilla-worker' }));
const logger = createLogger({ service: 'worker', level: config.logLevel });
tracing.reportTo(logger);
const shutdown = new Shutdown({ logger, timeoutMs: config.shutdown.timeoutSeconds * 1000 });
handleSignals(shutdown);
// A release step, so it runs once in-flight jobs have finished and their spans are in the last
// batch. It leaves a second of the budget for the release steps after it (closing Redis
// connections): a collector that does not answer must not cost them their turn.
shutdown.add('flush traces', (deadline) => tracing.shutdown(deadline - FLUSH_RESERVE_MS), 'release');
logger.info({ tracing: tracing.description }, 'tracing');

try {
  const { startWorkerProcess } = await import('./worker-process.js');
  await startWorkerProcess(config, logger, shutdown);
} catch (error) {
  logger.fatal({ err: error }, 'worker failed to start');
  void shutdown.shutdown('start-up failure', 1);
}
