import { ConfigError, type CommonConfig } from '@flotilla/config';
import { createLogger, startTracing, type Logger } from '@flotilla/telemetry';
import { Shutdown, handleSignals } from './shutdown.js';

/** One kind of Flotilla process, as its main.ts declares it. */
export interface ServiceDefinition<C extends CommonConfig> {
  /** `web` or `worker`: the `service` of its log lines; its traces are `flotilla-<name>`. */
  readonly name: string;
  /** Reads and checks the environment; a ConfigError stops the process with its one line. */
  readonly loadConfig: () => C;
  /**
   * For a process that only supervises others (the web's cluster primary): runs that instead
   * and resolves true; false when this process runs the service itself.
   */
  readonly supervise?: (config: C, logger: Logger) => Promise<boolean>;
  /**
   * Starts the service and registers its shutdown steps. It should import the modules that load
   * traced libraries (express, ioredis, bullmq) itself, dynamically: tracing hooks module
   * loading only once it has started, just before this is called.
   */
  readonly start: (config: C, logger: Logger, shutdown: Shutdown) => Promise<void>;
}

// Of the shutdown budget, what flushing traces leaves to the release steps after it (closing
// Redis connections): a collector that does not answer must not cost them their turn.
const FLUSH_RESERVE_MS = 1000;

/**
 * The start-up every Flotilla process shares: configuration (a bad variable ends the process
 * with one line naming it, exit 1), the logger, tracing, SIGTERM/SIGINT handling, and an
 * ordered shutdown whose last steps flush the traces; a start that fails logs why and shuts
 * down what it had started, exit 1.
 */
export async function runService<C extends CommonConfig>(definition: ServiceDefinition<C>): Promise<void> {
  const { name } = definition;
  const config = await orExit(name, definition.loadConfig);
  const logger = createLogger({ service: name, level: config.logLevel });
  if (await definition.supervise?.(config, logger)) return;
  const tracing = await orExit(name, () => startTracing({ serviceName: `flotilla-${name}` }));
  tracing.reportTo(logger);
  const shutdown = new Shutdown({ logger, timeoutMs: config.shutdown.timeoutMs });
  handleSignals(shutdown);
  // A release step, so it runs once requests, jobs and queue clients have finished and their
  // spans are in the last batch.
  shutdown.add('flush traces', (deadline) => tracing.shutdown(deadline - FLUSH_RESERVE_MS), 'release');
  logger.info({ tracing: tracing.description }, 'tracing');
  try {
    await definition.start(config, logger, shutdown);
  } catch (error) {
    logger.fatal({ err: error }, `${name} failed to start`);
    void shutdown.shutdown('start-up failure', 1);
  }
}

async function orExit<T>(name: string, read: () => T | Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`flotilla ${name}: ${error.message}\n`);
    process.exit(1);
  }
}
