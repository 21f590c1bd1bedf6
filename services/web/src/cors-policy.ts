import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from 'cors';

/** Connect-style CORS middleware: Express runs it, and so does the submission fast path. */
export type CorsPolicy = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * CORS for the API, or undefined when no origin is configured: then browsers keep the
 * same-origin default and other sites' pages cannot read API responses. Credentials are never
 * allowed; callers that need them send a bearer token, which a page of another site cannot.
 */
export function corsPolicy(origins: '*' | readonly string[]): CorsPolicy | undefined {
  if (origins !== '*' && origins.length === 0) return undefined;
  return cors({
    origin: origins === '*' ? '*' : [...origins],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['content-type', 'idempotency-key', 'if-match', 'if-none-match', 'last-event-id', 'authorization'],
    exposedHeaders: ['location', 'retry-after', 'idempotent-replayed', 'etag'],
    maxAge: 600,
  });
}
