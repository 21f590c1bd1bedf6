import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** How /metrics is protected: not at all, by a bearer token, or by basic auth. */
export type MetricsAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'basic'; readonly user: string; readonly password: string };

/**
 * Compares a presented secret in constant time: the timing shows neither how much of a guess
 * was right nor how long the secret is (both sides are hashed to one length first).
 */
export function sameSecret(presented: string, expected: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

// RFC 9110 §11.1: the scheme is case-insensitive, one or more spaces before the credentials.
function credentialsOf(header: string | undefined, scheme: 'bearer' | 'basic'): string | undefined {
  const match = /^([A-Za-z][\w.+-]*) +(\S+) *$/.exec(header ?? '');
  return match?.[1]?.toLowerCase() === scheme ? match[2] : undefined;
}

/** Whether a request carries the credentials `auth` asks for (always, when it asks for none). */
export function metricsAuthorized(auth: MetricsAuth, req: IncomingMessage): boolean {
  if (auth.kind === 'none') return true;
  const header = req.headers.authorization;
  if (auth.kind === 'bearer') {
    const token = credentialsOf(header, 'bearer');
    return token !== undefined && sameSecret(token, auth.token);
  }
  const encoded = credentialsOf(header, 'basic');
  if (encoded === undefined) return false;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return false;
  // Both compared every time: which of the two was wrong does not show either.
  const user = sameSecret(decoded.slice(0, colon), auth.user);
  const password = sameSecret(decoded.slice(colon + 1), auth.password);
  return user && password;
}
