import { randomBytes } from 'node:crypto';
import type { RedisClient } from './redis-connection-options.js';

/** What the last look at the epoch key found. */
export type RedisEpochState = 'intact' | 'lost' | 'unknown';

const CHECK_TIMEOUT_MS = 1000;

/**
 * A "Redis epoch": a random value kept under one key, written once by the first process that
 * finds the key missing (SET NX) and remembered by every process that starts while it is there.
 * If Redis is flushed or comes back from a restart without its data, the key is gone (or, once a
 * new process has started, holds another value), so a process can tell "Redis answers" from
 * "Redis still holds what I started with" — a readiness probe that only PINGs would report an
 * empty Redis as healthy. Losing the epoch is final for this process: what it learned from the
 * old data (the idempotency secret, its fleet membership) is stale, so it stays not ready until
 * it is restarted, and it exports that as a metric an alert fires on.
 */
export class RedisEpoch {
  #lost = false;

  private constructor(
    private readonly client: RedisClient,
    /** The key holding the epoch, e.g. `{flotilla}:epoch`. */
    readonly key: string,
    /** The value this process started with. */
    readonly value: string,
  ) {}

  /** Reads the epoch, creating it first when the key is missing (the first process of a fleet, or a new Redis). */
  static async join(client: RedisClient, key: string): Promise<RedisEpoch> {
    await client.set(key, `${new Date().toISOString()}/${randomBytes(16).toString('hex')}`, 'NX');
    const value = await client.get(key);
    if (value === null) throw new Error(`could not read the Redis epoch ${key} right after writing it`);
    return new RedisEpoch(client, key, value);
  }

  /** True once a check has found the key missing or changed; it never turns back. */
  get lost(): boolean {
    return this.#lost;
  }

  /**
   * Looks at the key: `lost` when Redis answers without our value, `unknown` when it does not
   * answer within `timeoutMs` (an outage is not data loss; reachability is reported apart).
   */
  async check(timeoutMs = CHECK_TIMEOUT_MS): Promise<RedisEpochState> {
    if (this.#lost) return 'lost';
    // Commands on a consumer connection wait out an outage; a probe must not.
    if (this.client.status !== 'ready') return 'unknown';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
    try {
      const read = this.client.get(this.key).then(
        (value) => ({ value }),
        () => undefined,
      );
      const reply = await Promise.race([read, timeout]);
      if (reply === undefined) return 'unknown';
      if (reply.value === this.value) return 'intact';
      this.#lost = true;
      return 'lost';
    } finally {
      clearTimeout(timer);
    }
  }
}
