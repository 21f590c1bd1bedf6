import type { RedisClient } from './redis-connection-options.js';
import { WriteNotDurableError } from './write-not-durable-error.js';

// What ioredis and Redis say when the server cannot take a command right now: the connection
// is down or refused (fail-fast producers), the command timed out, the server is loading,
// full (noeviction and maxmemory reached), mid-failover or its cluster is down, or cannot
// confirm a durable write. Matched by text because ioredis raises plain Errors for most of these.
// On a Cluster, ioredis follows MOVED/ASK and retries a closed node connection or CLUSTERDOWN
// itself, up to maxRedirections (16), then gives up with "Too many Cluster redirections": what a
// command meets while a dead master's slots wait for its replica's promotion. A bad command
// (CROSSSLOT, WRONGTYPE …) is never retried, so it still surfaces as itself.
const UNAVAILABLE_MESSAGES = [
  /^Stream isn't writeable/,
  /^Connection is closed/,
  /^Command timed out/,
  /^Reached the max retries per request limit/,
  /^OOM /,
  /^LOADING /,
  /^MASTERDOWN /,
  /^CLUSTERDOWN /,
  /^TRYAGAIN /,
  /^READONLY /,
  /^Failed to refresh slots cache/,
  /^None of startup nodes is available/,
  /^Too many Cluster redirections/,
  /^Cluster isn't ready and enableOfflineQueue options is false/,
];
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

/**
 * True when an error means "Redis cannot serve this now, try again soon" rather than a bug or
 * a bad command, so an HTTP API can answer 503 with Retry-After instead of 500.
 */
export function isRedisUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError' || error instanceof WriteNotDurableError) return true;
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && UNAVAILABLE_CODES.has(code)) return true;
  return UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(error.message));
}

/**
 * Whether the server answers PING within `timeoutMs`. Never waits longer, whatever the
 * client's role: a consumer connection would otherwise queue the PING until Redis returns,
 * and a readiness probe must answer promptly.
 */
export async function isReachable(client: RedisClient, timeoutMs = 1000): Promise<boolean> {
  if (client.status !== 'ready' && client.status !== 'connect') return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      // A connection in subscriber mode answers ['pong', ''].
      (client.ping() as Promise<unknown>).then(
        (reply) => reply === 'PONG' || (Array.isArray(reply) && reply[0] === 'pong'),
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
