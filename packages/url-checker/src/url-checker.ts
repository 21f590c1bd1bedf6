import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, errors, request } from 'undici';
import { AddressPolicy, type Refusal } from './address-policy.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';

/** How one URL fared. `up`: a 2xx or 3xx answer; `down`: 4xx or 5xx after any retries. */
export interface CheckResult {
  readonly url: string;
  readonly outcome: 'up' | 'down' | 'timeout' | 'error' | 'blocked';
  readonly status?: number;
  readonly attempts: number;
  readonly durationMs: number;
  readonly error?: string;
}

/** Settings of a checker; every field has a default. */
export interface UrlCheckerOptions {
  /** CIDRs and host names checks may reach besides public addresses. */
  readonly allow?: readonly string[];
  /** Per request: connect, response headers and body each get this long. Default 10 s. */
  readonly timeoutMs?: number;
  /** Attempts per URL, retries included. Default 3. */
  readonly maxAttempts?: number;
  readonly backoff?: BackoffPolicy;
  /** Longest Retry-After (429, 503) honoured; longer ones are cut to this. Default 10 s. */
  readonly maxRetryAfterMs?: number;
  /** Keep-alive connections per origin. Default 4. */
  readonly connectionsPerOrigin?: number;
  readonly userAgent?: string;
}

const BLOCKED = 'EFLOTILLABLOCKED';

class BlockedAddressError extends Error {
  readonly code = BLOCKED;
}

/** Why a URL cannot be checked at all, before any DNS or connection. */
function refuseUrl(url: URL, policy: AddressPolicy): Refusal {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol} is not http or https`;
  if (url.username || url.password) return 'URLs with credentials are not checked';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // An IP literal is connected to without a lookup, so it is judged here.
  if (/^[\d.]+$/.test(host) || host.includes(':')) return policy.refuseAddress(host);
  return policy.refuseHost(host);
}

/** A DNS lookup that refuses names resolving to an address the policy does not allow. */
function guardedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      // Every address is judged, not just the first: a later one may be used on reconnect.
      const refusal = policy.allowsHost(hostname) ? undefined : addresses.map((a) => policy.refuseAddress(a.address)).find(Boolean);
      if (refusal) return callback(new BlockedAddressError(`${hostname}: ${refusal}`), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const [first] = addresses;
      return callback(null, first?.address ?? '', first?.family ?? 4);
    });
  };
}

function retryAfterMs(header: string | string[] | undefined, cap: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(cap, Math.max(0, ms)) : undefined;
}

function isTimeout(error: unknown): boolean {
  return error instanceof errors.ConnectTimeoutError || error instanceof errors.HeadersTimeoutError || error instanceof errors.BodyTimeoutError;
}

function causeCode(error: unknown): string | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (code === BLOCKED) return BLOCKED;
  }
  return undefined;
}

/**
 * Checks URLs over one pooled keep-alive HTTP client (undici): connections are reused across
 * checks, every request is bounded by timeouts, 5xx / 429 / timeouts / connection errors are
 * retried with exponential backoff and full jitter (4xx are answers, not failures to retry),
 * redirects are reported rather than followed, and the address policy is enforced on the
 * resolved address at connect time, so a name that resolves to an internal address is refused
 * too. Retries by hand rather than with undici's retry interceptor, so each result can say how
 * many attempts it took.
 */
export class UrlChecker {
  readonly #agent: Agent;
  readonly #policy: AddressPolicy;
  readonly #maxAttempts: number;
  readonly #backoff: BackoffPolicy;
  readonly #maxRetryAfterMs: number;
  readonly #userAgent: string;

  constructor(options: UrlCheckerOptions = {}) {
    const timeoutMs = options.timeoutMs ?? 10_000;
    this.#policy = new AddressPolicy(options.allow);
    this.#maxAttempts = options.maxAttempts ?? 3;
    if (!Number.isInteger(this.#maxAttempts) || this.#maxAttempts < 1) throw new RangeError('maxAttempts must be a positive integer');
    this.#backoff = options.backoff ?? { baseMs: 200, maxMs: 5000 };
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 10_000;
    this.#userAgent = options.userAgent ?? 'flotilla-url-checker';
    this.#agent = new Agent({
      connections: options.connectionsPerOrigin ?? 4,
      keepAliveTimeout: 30_000,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: { timeout: timeoutMs, lookup: guardedLookup(this.#policy) },
    });
  }

  /** Checks one URL; never throws. */
  async check(target: string): Promise<CheckResult> {
    const startedAt = performance.now();
    const done = (result: Omit<CheckResult, 'url' | 'durationMs'>): CheckResult => ({
      url: target,
      durationMs: Math.round(performance.now() - startedAt),
      ...result,
    });
    if (!URL.canParse(target)) return done({ outcome: 'blocked', attempts: 0, error: 'not a valid URL' });
    const refusal = refuseUrl(new URL(target), this.#policy);
    if (refusal) return done({ outcome: 'blocked', attempts: 0, error: refusal });

    for (let attempt = 1; ; attempt++) {
      let pause: number | undefined;
      let last: Omit<CheckResult, 'url' | 'durationMs'>;
      try {
        const response = await request(target, { dispatcher: this.#agent, method: 'GET', headers: { 'user-agent': this.#userAgent } });
        await response.body.dump();
        const { statusCode: status } = response;
        if (status < 400) return done({ outcome: 'up', status, attempts: attempt });
        last = { outcome: 'down', status, attempts: attempt };
        if (status !== 429 && status < 500) return done(last);
        pause = status === 429 || status === 503 ? retryAfterMs(response.headers['retry-after'], this.#maxRetryAfterMs) : undefined;
      } catch (error) {
        if (causeCode(error) === BLOCKED) return done({ outcome: 'blocked', attempts: attempt, error: error instanceof Error ? error.message : String(error) });
        last = { outcome: isTimeout(error) ? 'timeout' : 'error', attempts: attempt, error: error instanceof Error ? error.message : String(error) };
      }
      if (attempt >= this.#maxAttempts) return done(last);
      await sleep(pause ?? backoffDelay(this.#backoff, attempt));
    }
  }

  /** Checks many URLs with at most `concurrency` requests in flight; results in input order. */
  async checkAll(targets: readonly string[], options: { readonly concurrency: number }): Promise<CheckResult[]> {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new RangeError('concurrency must be a positive integer');
    const results = new Array<CheckResult>(targets.length);
    let next = 0;
    const runner = async (): Promise<void> => {
      while (next < targets.length) {
        const index = next++;
        results[index] = await this.check(targets[index] ?? '');
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency, targets.length) }, runner));
    return results;
  }

  /** Closes the pooled connections. */
  async close(): Promise<void> {
    await this.#agent.close();
  }
}
