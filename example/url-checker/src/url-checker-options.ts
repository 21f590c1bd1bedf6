import type { Allowlist } from './address-policy.js';
import type { BackoffPolicy } from './backoff.js';
import { systemResolver, type Resolver } from './guarded-lookup.js';
import { InvalidUrlCheckerOption } from './invalid-url-checker-option.js';

/** Settings of a UrlChecker; every field has a default. */
export interface UrlCheckerOptions {
  /**
   * What checks may reach besides public unicast addresses. A flat list (as URL_CHECK_ALLOW
   * gives it) is read as CIDRs where an entry has a '/', host names otherwise.
   */
  readonly allow?: Allowlist | readonly string[];
  /** Only `allow.hosts` may be checked at all; CIDRs and public addresses are not enough. Default false. */
  readonly allowHostsOnly?: boolean;
  /** Default for the three timeouts below. Default 10 s. */
  readonly timeoutMs?: number;
  /** Time to open the TCP (and TLS) connection. */
  readonly connectTimeoutMs?: number;
  /** Time from sending the request to the complete response headers. */
  readonly headersTimeoutMs?: number;
  /** Longest pause between two chunks of the response body. */
  readonly bodyTimeoutMs?: number;
  /** Longest time one attempt may take, start to end of body. Default: the three timeouts added. */
  readonly attemptTimeoutMs?: number;
  /** Attempts per URL, retries included. Default 3. */
  readonly maxAttempts?: number;
  /** Delays between attempts. Default base 200 ms, cap 5 s. */
  readonly backoff?: BackoffPolicy;
  /** Longest Retry-After (429, 503) honoured; longer ones are cut to this. Default 10 s. */
  readonly maxRetryAfterMs?: number;
  /** Pooled keep-alive connections per origin. Default 4. */
  readonly connectionsPerOrigin?: number;
  /** How long an idle pooled connection is kept. Default 30 s. */
  readonly keepAliveTimeoutMs?: number;
  /** The outcome of a 3xx answer; redirects are never followed. Default 'up'. */
  readonly redirects?: 'up' | 'down';
  readonly userAgent?: string;
  /** How host names become addresses (the result is judged by the allowlist). Default: the system resolver. */
  readonly resolve?: Resolver;
  /**
   * Told why a check was blocked, with the address a name resolved to, which the result leaves
   * out: results are shown to API clients, and the addresses would map the internal DNS.
   */
  readonly onBlocked?: (url: string, detail: string) => void;
}

/** Options with every default filled in and every value checked. */
export interface UrlCheckerSettings {
  readonly allow: Allowlist;
  readonly allowHostsOnly: boolean;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly attemptTimeoutMs: number;
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
  readonly maxRetryAfterMs: number;
  readonly connectionsPerOrigin: number;
  readonly keepAliveTimeoutMs: number;
  readonly redirects: 'up' | 'down';
  readonly userAgent: string;
  readonly resolve: Resolver;
}

/** Fills in defaults and checks values; throws InvalidUrlCheckerOption naming the first bad one. */
export function urlCheckerSettings(options: UrlCheckerOptions): UrlCheckerSettings {
  const timeoutMs = duration('timeoutMs', options.timeoutMs ?? 10_000, false);
  const backoff = options.backoff ?? { baseMs: 200, maxMs: 5000 };
  duration('backoff.baseMs', backoff.baseMs, true);
  if (duration('backoff.maxMs', backoff.maxMs, true) < backoff.baseMs)
    throw new InvalidUrlCheckerOption('backoff.maxMs', `at least backoff.baseMs (${backoff.baseMs})`, backoff.maxMs);
  if (options.redirects !== undefined && options.redirects !== 'up' && options.redirects !== 'down') {
    throw new InvalidUrlCheckerOption('redirects', "'up' or 'down'", options.redirects);
  }
  const connectTimeoutMs = duration('connectTimeoutMs', options.connectTimeoutMs ?? timeoutMs, false);
  const headersTimeoutMs = duration('headersTimeoutMs', options.headersTimeoutMs ?? timeoutMs, false);
  const bodyTimeoutMs = duration('bodyTimeoutMs', options.bodyTimeoutMs ?? timeoutMs, false);
  return Object.freeze({
    allow: allowlist(options.allow),
    allowHostsOnly: options.allowHostsOnly ?? false,
    connectTimeoutMs,
    headersTimeoutMs,
    bodyTimeoutMs,
    attemptTimeoutMs: duration(
      'attemptTimeoutMs',
      options.attemptTimeoutMs ?? connectTimeoutMs + headersTimeoutMs + bodyTimeoutMs,
      false,
    ),
    maxAttempts: count('maxAttempts', options.maxAttempts ?? 3),
    backoff: Object.freeze({ ...backoff }),
    maxRetryAfterMs: duration('maxRetryAfterMs', options.maxRetryAfterMs ?? 10_000, true),
    connectionsPerOrigin: count('connectionsPerOrigin', options.connectionsPerOrigin ?? 4),
    keepAliveTimeoutMs: duration('keepAliveTimeoutMs', options.keepAliveTimeoutMs ?? 30_000, false),
    redirects: options.redirects ?? 'up',
    userAgent: options.userAgent ?? 'flotilla-url-checker',
    resolve: options.resolve ?? systemResolver,
  });
}

/** A positive integer, or InvalidUrlCheckerOption naming `option`. */
export function count(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidUrlCheckerOption(option, 'a positive integer', value);
  return value;
}

function duration(option: string, value: number, zeroAllowed: boolean): number {
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) {
    throw new InvalidUrlCheckerOption(
      option,
      `a ${zeroAllowed ? 'non-negative' : 'positive'} number of milliseconds`,
      value,
    );
  }
  return value;
}

export function allowlist(allow: UrlCheckerOptions['allow']): Allowlist {
  if (allow === undefined) return {};
  if (!isList(allow)) return allow;
  return { cidrs: allow.filter((entry) => entry.includes('/')), hosts: allow.filter((entry) => !entry.includes('/')) };
}

// Array.isArray does not narrow a readonly array out of a union.
function isList(allow: Allowlist | readonly string[]): allow is readonly string[] {
  return Array.isArray(allow);
}
