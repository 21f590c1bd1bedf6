import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** How /metrics is protected: not at all, by a bearer token, or by basic auth. */
export type MetricsAuth = { readonly kind: 'none' } | { readonly kind: 'bearer'; readonly token: string } | { readonly kind: 'basic'; readonly user: string; readonly password: string };

/** Compares a presented secret in constant time, so timing does not leak how much of a guess was right. */
export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Whether a request may read the metrics. */
export function metricsAuthorized(auth: MetricsAuth, req: IncomingMessage): boolean {
  if (auth.kind === 'none') return true;
  const header = req.headers.authorization ?? '';
  if (auth.kind === 'bearer') return header.startsWith('Bearer ') && sameSecret(header.slice(7), auth.token);
  if (!header.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon !== -1 && sameSecret(decoded.slice(0, colon), auth.user) && sameSecret(decoded.slice(colon + 1), auth.password);
}
