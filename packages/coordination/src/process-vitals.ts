import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** How busy this process's event loop was between two reads, as member capabilities. */
export interface VitalCapabilities {
  /** Share of the time the loop was running code rather than waiting for I/O, 0 to 1 (e.g. `0.231`). */
  readonly eventLoopUtilization: string;
  /** The longest the loop ran a due timer late, in milliseconds (e.g. `12.4`). */
  readonly eventLoopDelayMaxMs: string;
}

// Not a second monitorEventLoopDelay histogram (prom-client runs one for /metrics), which wakes
// the loop every 10 ms: with it, jobs' p99 enqueue-to-start latency at 1,500 jobs/s was 31-33 ms
// against 11-14 ms without, in A/B rounds. Two wake-ups a second still catch any stall worth
// profiling.
const SAMPLE_MS = 500;

/**
 * Measures this process's event loop between two reads, for the heartbeat to report which
 * process is busy or stalling: utilisation from `performance.eventLoopUtilization()`, and the
 * worst lateness of a timer that fires every half second. `stop()` ends the measuring.
 */
export class ProcessVitals {
  readonly #timer: NodeJS.Timeout;
  #utilization: EventLoopUtilization;
  #lastTick: number;
  #maxDelayMs = 0;
  #stopped = false;

  private constructor() {
    this.#utilization = performance.eventLoopUtilization();
    this.#lastTick = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#maxDelayMs = Math.max(this.#maxDelayMs, now - this.#lastTick - SAMPLE_MS);
      this.#lastTick = now;
    }, SAMPLE_MS);
    // Measuring must not keep alive a process that is otherwise done.
    this.#timer.unref();
  }

  /** Starts measuring; the first read covers the time since. */
  static start(): ProcessVitals {
    return new ProcessVitals();
  }

  /** The vitals since the previous read (or the start), and starts the next interval. */
  read(): VitalCapabilities {
    if (this.#stopped) throw new Error('process vitals were read after stop()');
    const now = performance.now();
    const utilization = performance.eventLoopUtilization();
    const share = performance.eventLoopUtilization(utilization, this.#utilization).utilization;
    // A stall still under way (the loop was blocked until this read) counts too.
    const delayMs = Math.max(this.#maxDelayMs, now - this.#lastTick - SAMPLE_MS);
    this.#utilization = utilization;
    this.#maxDelayMs = 0;
    return { eventLoopUtilization: share.toFixed(3), eventLoopDelayMaxMs: Math.max(0, delayMs).toFixed(1) };
  }

  /** Stops measuring. Idempotent; a later read() throws. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }
}
