import type { Logger } from '@flotilla/telemetry';

/**
 * When a step runs: every `drain` step (stop intake, finish work) before any `release` step
 * (close connections, flush), so a connection can be registered for closing as soon as it is
 * opened and still outlive the work that uses it.
 */
export type ShutdownPhase = 'drain' | 'release';

/** One step of a shutdown. */
export interface ShutdownStep {
  readonly name: string;
  readonly phase: ShutdownPhase;
  readonly run: (deadline: number) => Promise<void> | void;
}

/** Options of a shutdown coordinator. */
export interface ShutdownOptions {
  readonly logger: Logger;
  /** Total budget; steps see the absolute deadline and must finish (or give up) before it. */
  readonly timeoutMs: number;
  /** Called once at the end with the exit code; tests replace process.exit. */
  readonly exit?: (code: number) => void;
}

/**
 * The one shutdown path of a process. SIGTERM, SIGINT and fatal errors all call `shutdown`,
 * which is idempotent: platforms may signal twice, and the second call gets the first call's
 * promise. Steps run in order (stop intake, drain, close connections, flush); a step that
 * throws is logged and the rest still run. If the steps overrun the budget by a grace margin the
 * process exits anyway, so the platform never has to SIGKILL it.
 */
export class Shutdown {
  private readonly steps: ShutdownStep[] = [];
  private running: Promise<void> | undefined;
  private draining = false;

  constructor(private readonly options: ShutdownOptions) {
    if (options.timeoutMs <= 0) throw new Error('Shutdown requires a positive timeoutMs');
  }

  /** True once shutdown has begun: readiness probes report not ready from then on. */
  get isDraining(): boolean {
    return this.draining;
  }

  /** Adds a step; within a phase, steps run in the order they were added. */
  add(name: string, run: (deadline: number) => Promise<void> | void, phase: ShutdownPhase = 'drain'): void {
    this.steps.push({ name, phase, run });
  }

  /** Starts shutting down (once) and resolves when every step has run. */
  shutdown(reason: string, exitCode = 0): Promise<void> {
    if (this.running) {
      this.options.logger.info({ reason }, 'shutdown already in progress');
      return this.running;
    }
    this.draining = true;
    this.running = this.run(reason, exitCode);
    return this.running;
  }

  private async run(reason: string, exitCode: number): Promise<void> {
    const { logger, timeoutMs } = this.options;
    const started = Date.now();
    const deadline = started + timeoutMs;
    logger.info({ reason, timeoutMs }, 'shutting down');
    // Last resort: a step that ignores its deadline must not keep the process alive.
    const backstop = setTimeout(() => {
      logger.error({ reason }, 'shutdown overran its budget; exiting now');
      this.exit(1);
    }, timeoutMs + 1000);
    backstop.unref();
    let code = exitCode;
    const ordered = [
      ...this.steps.filter((s) => s.phase === 'drain'),
      ...this.steps.filter((s) => s.phase === 'release'),
    ];
    for (const step of ordered) {
      try {
        await step.run(deadline);
      } catch (error) {
        code = 1;
        logger.error({ err: error, step: step.name }, 'shutdown step failed');
      }
    }
    clearTimeout(backstop);
    logger.info({ reason, ms: Date.now() - started }, 'shutdown complete');
    this.exit(code);
  }

  private exit(code: number): void {
    (this.options.exit ?? ((c: number) => process.exit(c)))(code);
  }
}

/** Routes SIGTERM and SIGINT to the shutdown; returns a function that removes the handlers. */
export function handleSignals(
  shutdown: Shutdown,
  signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    void shutdown.shutdown(signal);
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}

/** Resolves after `ms`, or at once when ms <= 0. */
export function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
