import { monitorEventLoopDelay, performance, type ELDHistogram, type EventLoopUtilization } from 'node:perf_hooks';

/** How busy this process's event loop was between two reads, as member capabilities. */
export interface VitalCapabilities {
  /** Share of the time the loop was running code rather than waiting for I/O, 0 to 1 (e.g. `0.231`). */
  readonly eventLoopUtilization: string;
  /** The 99th percentile of how late the loop ran a due timer, in milliseconds (e.g. `12.4`). */
  readonly eventLoopDelayP99Ms: string;
}

// Node's default. The histogram records the whole interval between two of its ticks, which
// includes this resolution: it is subtracted, so an idle loop reports a delay near 0, not 10 ms.
const RESOLUTION_MS = 10;
const NS_PER_MS = 1e6;

/**
 * Measures this process's event loop between two reads, for the heartbeat to report which
 * process is busy or stalling: utilisation from `performance.eventLoopUtilization()` and delay
 * from `monitorEventLoopDelay`. `stop()` ends the measuring.
 */
export class ProcessVitals {
  readonly #delay: ELDHistogram;
  #utilization: EventLoopUtilization;
  #readAt: number;
  #stopped = false;

  private constructor() {
    this.#delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.#delay.enable();
    this.#utilization = performance.eventLoopUtilization();
    this.#readAt = performance.now();
  }

  /** Starts measuring; the first read covers the time since. */
  static start(): ProcessVitals {
    return new ProcessVitals();
  }

  /** The vitals since the previous read (or the start), and starts the next interval. */
  read(): VitalCapabilities {
    if (this.#stopped) throw new Error('process vitals were read after stop()');
    const utilization = performance.eventLoopUtilization();
    const share = performance.eventLoopUtilization(utilization, this.#utilization).utilization;
    const now = performance.now();
    // No tick at all means the loop was stalled for (about) the whole interval, not that it
    // had no delay. (Resetting the histogram also forgets its last tick, so a stall spanning a
    // read counts in neither interval; with a heartbeat of seconds that is rare.)
    const delayMs = this.#delay.count > 0 ? this.#delay.percentile(99) / NS_PER_MS - RESOLUTION_MS : now - this.#readAt - RESOLUTION_MS;
    this.#delay.reset();
    this.#utilization = utilization;
    this.#readAt = now;
    return { eventLoopUtilization: share.toFixed(3), eventLoopDelayP99Ms: Math.max(0, delayMs).toFixed(1) };
  }

  /** Stops measuring. Idempotent; a later read() throws. */
  stop(): void {
    this.#stopped = true;
    this.#delay.disable();
  }
}
