import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, errors, request } from 'undici';
import { AddressPolicy } from './address-policy.js';
import { backoffDelay } from './backoff.js';
import { BlockedAddressError, guardedLookup } from './guarded-lookup.js';
import { refuseUrl } from './refuse-url.js';
import { retryAfterMs } from './retry-after.js';
import { count, urlCheckerSettings, type UrlCheckerOptions, type UrlCheckerSettings } from './url-checker-options.js';

/**
 * How a URL fared. `up`: a 2xx answer (3xx too, unless configured otherwise); `down`: any other
 * status after the retries; `timeout` / `error`: no answer after the retries; `blocked`: refused
 * by the URL rules or the allowlist.
 */
export type CheckOutcome = 'up' | 'down' | 'timeout' | 'error' | 'blocked';

/** The result of checking one URL. */
export interface CheckResult {
  readonly url: string;
  /** Whether the outcome is `up`. */
  readonly ok: boolean;
  readonly outcome: CheckOutcome;
  /** The status of the last answer, when there was one. */
  readonly status?: number;
  /** Requests sent; 0 when blocked before the first. */
  readonly attempts: number;
  readonly durationMs: number;
  /** Why the check was blocked, timed out or failed. */
  readonly error?: string;
}

type AttemptResult = Omit<CheckResult, 'url' | 'ok' | 'durationMs'>;

/** One attempt's result, and whether (and after how long) to try again. */
interface Attempt {
  readonly result: AttemptResult;
  readonly retry: boolean;
  /** The wait the server asked for (Retry-After), replacing the backoff. */
  readonly pauseMs?: number | undefined;
}

// Enough of a body to know it flows; reading on would only lengthen the check.
const BODY_BYTES_READ = 1024 * 1024;

function isTimeout(error: unknown): boolean {
  return (
    error instanceof errors.ConnectTimeoutError ||
    error instanceof errors.HeadersTimeoutError ||
    error instanceof errors.BodyTimeoutError ||
    (error instanceof DOMException && error.name === 'TimeoutError')
  );
}

function blockedBy(error: unknown): BlockedAddressError | undefined {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof BlockedAddressError) return cause;
  }
  return undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Checks URLs over one pooled keep-alive HTTP client (an undici Agent): connections are reused
 * across checks, every attempt is bounded by connect, headers, body and overall timeouts, 5xx / 429 /
 * timeouts / connection errors are retried with exponential backoff and full jitter (a 4xx is an
 * answer, not a failure), redirects are reported rather than followed, and the allowlist is
 * enforced on the URL and again on the resolved address as each connection opens.
 */
export class UrlChecker {
  readonly #settings: UrlCheckerSettings;
  readonly #policy: AddressPolicy;
  readonly #agent: Agent;
  readonly #onBlocked: ((url: string, detail: string) => void) | undefined;

  constructor(options: UrlCheckerOptions = {}) {
    const settings = urlCheckerSettings(options);
    this.#settings = settings;
    this.#onBlocked = options.onBlocked;
    this.#policy = new AddressPolicy(settings.allow, { hostsOnly: settings.allowHostsOnly });
    this.#agent = new Agent({
      connections: settings.connectionsPerOrigin,
      keepAliveTimeout: settings.keepAliveTimeoutMs,
      headersTimeout: settings.headersTimeoutMs,
      bodyTimeout: settings.bodyTimeoutMs,
      connect: { timeout: settings.connectTimeoutMs, lookup: guardedLookup(this.#policy, settings.resolve) },
    });
  }

  /** Checks one URL; never throws. */
  async check(url: string): Promise<CheckResult> {
    const startedAt = performance.now();
    const finish = (result: AttemptResult): CheckResult => ({
      url,
      ok: result.outcome === 'up',
      ...result,
      durationMs: Math.round(performance.now() - startedAt),
    });
    const refusal = refuseUrl(url, this.#policy);
    if (refusal) return finish({ outcome: 'blocked', attempts: 0, error: refusal });

    // Retried here rather than by undici's retry interceptor, which has no full jitter and
    // cannot say how many attempts a result took.
    for (let attempt = 1; ; attempt++) {
      const { result, retry, pauseMs } = await this.#attempt(url, attempt);
      if (!retry || attempt >= this.#settings.maxAttempts) return finish(result);
      await sleep(pauseMs ?? backoffDelay(this.#settings.backoff, attempt));
    }
  }

  /**
   * Checks many URLs with at most `concurrency` requests in flight across all origins; results
   * in input order. Throws only for a concurrency that is not a positive integer.
   */
  async checkAll(urls: readonly string[], options: { readonly concurrency: number }): Promise<CheckResult[]> {
    const concurrency = count('concurrency', options.concurrency);
    const results = new Array<CheckResult>(urls.length);
    let next = 0;
    // A few lanes pulling from one cursor: the Agent's per-origin limit does not bound a batch
    // spread over many origins, and this is too small to warrant a dependency.
    const lane = async (): Promise<void> => {
      for (let index = next++; index < urls.length; index = next++) {
        results[index] = await this.check(urls[index] ?? '');
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, lane));
    return results;
  }

  /** Destroys the pooled connections; checks still running end with outcome `error`. */
  async close(): Promise<void> {
    await this.#agent.destroy();
  }

  async #attempt(url: string, attempt: number): Promise<Attempt> {
    try {
      const response = await request(url, {
        dispatcher: this.#agent,
        method: 'GET',
        headers: { 'user-agent': this.#settings.userAgent },
        signal: AbortSignal.timeout(this.#settings.attemptTimeoutMs),
      });
      // Read by hand because body.dump() swallows a body timeout, and a stalled body is a failure.
      let read = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        read += chunk.length;
        if (read >= BODY_BYTES_READ) break;
      }
      const status = response.statusCode;
      const up = status < 300 || (status < 400 && this.#settings.redirects === 'up');
      const result: AttemptResult = { outcome: up ? 'up' : 'down', status, attempts: attempt };
      if (status !== 429 && status < 500) return { result, retry: false };
      const pauseMs =
        status === 429 || status === 503
          ? retryAfterMs(response.headers['retry-after'], this.#settings.maxRetryAfterMs)
          : undefined;
      return { result, retry: true, pauseMs };
    } catch (error) {
      const blocked = blockedBy(error);
      if (blocked) {
        this.#onBlocked?.(url, blocked.detail);
        return { result: { outcome: 'blocked', attempts: attempt - 1, error: blocked.message }, retry: false };
      }
      const closed = error instanceof errors.ClientDestroyedError || error instanceof errors.ClientClosedError;
      return {
        result: { outcome: isTimeout(error) ? 'timeout' : 'error', attempts: attempt, error: messageOf(error) },
        retry: !closed,
      };
    }
  }
}
