import type { Logger } from 'pino';

/** Tracing as started for one process. */
export interface Tracing {
  /** False when the environment did not ask for traces; every method is then a no-op. */
  readonly enabled: boolean;
  /** Where spans go, or why tracing is off, for the start-up log line. */
  readonly description: string;
  /** Routes the SDK's own warnings (say, a collector that refuses spans) to the process logger. */
  reportTo(logger: Logger): void;
  /**
   * Exports the spans still buffered and stops tracing. Gives up at `deadline` (epoch ms), so a
   * collector that does not answer cannot hold the process past the platform's grace period.
   */
  shutdown(deadline?: number): Promise<void>;
}
