import type { RedisClient } from './redis-connection-options.js';

const USED = /^used_memory:(\d+)/m;
const MAX = /^maxmemory:(\d+)/m;

/**
 * How full a Redis is (used_memory over maxmemory), read from INFO memory every interval in the
 * background so that asking costs no round trip. Unknown while Redis does not answer, and when it
 * has no maxmemory (then only the machine's memory bounds it).
 */
export class RedisMemoryGauge {
  #ratio: number | undefined;
  readonly #timer: NodeJS.Timeout;

  private constructor(
    private readonly client: RedisClient,
    intervalMs: number,
  ) {
    this.#timer = setInterval(() => void this.refresh(), intervalMs);
    this.#timer.unref();
  }

  /** Reads the figures once, then keeps them fresh every `intervalMs` until {@link stop}. */
  static async start(client: RedisClient, intervalMs = 1000): Promise<RedisMemoryGauge> {
    const gauge = new RedisMemoryGauge(client, intervalMs);
    await gauge.refresh();
    return gauge;
  }

  /** used_memory / maxmemory at the last reading, or undefined when unknown or unbounded. */
  get ratio(): number | undefined {
    return this.#ratio;
  }

  /** Stops reading. */
  stop(): void {
    clearInterval(this.#timer);
  }

  private async refresh(): Promise<void> {
    try {
      const info = await this.client.info('memory');
      const used = Number(USED.exec(info)?.[1]);
      const max = Number(MAX.exec(info)?.[1]);
      this.#ratio = max > 0 && Number.isFinite(used) ? used / max : undefined;
    } catch {
      // An outage: submissions fail on their own, and the last figure would be stale.
      this.#ratio = undefined;
    }
  }
}
