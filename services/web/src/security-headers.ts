import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { RequestHandler } from 'express';
import helmet, { contentSecurityPolicy } from 'helmet';

// Helmet's defaults, less `upgrade-insecure-requests`: the web is often reached over plain HTTP
// on a laptop or behind a TLS-terminating router, and there that directive would send the
// browser to an https:// address nobody serves, breaking bull-board's scripts and styles.
const directives = { upgradeInsecureRequests: null };

/** The headers a connect-style middleware sets on a response, as a flat [name, value, …] list. */
function headersSetBy(
  middleware: (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void,
): readonly string[] {
  const req = new IncomingMessage(new Socket());
  const res = new ServerResponse(req);
  const calls: unknown[] = [];
  middleware(req, res, (error) => calls.push(error));
  if (calls.length !== 1 || calls[0] !== undefined)
    throw new Error('the security header middleware did not pass synchronously and without error');
  return Object.entries(res.getHeaders()).flatMap(([name, value]) => [name, String(value)]);
}

/**
 * Helmet's headers: a Content Security Policy that allows scripts only from this origin, no MIME
 * sniffing, no framing by other sites, HSTS, a strict referrer policy, and no cross-origin
 * embedding of API responses. They depend on no request, so helmet runs once, at start-up:
 * running it per request was 4% of a job submission's CPU time.
 */
export const SECURITY_HEADERS: readonly string[] = headersSetBy(helmet({ contentSecurityPolicy: { directives } }));

/** Sets {@link SECURITY_HEADERS} on a response. */
export function setSecurityHeaders(res: ServerResponse): void {
  for (let i = 0; i < SECURITY_HEADERS.length; i += 2)
    res.setHeader(SECURITY_HEADERS[i] as string, SECURITY_HEADERS[i + 1] as string);
}

/** The security headers on every response, errors included. */
export function securityHeaders(): RequestHandler {
  return (_req, res, next) => {
    setSecurityHeaders(res);
    next();
  };
}

/**
 * The same Content Security Policy, except that the inline scripts with these hashes
 * (`'sha256-…'`) may run too: for pages that embed their own script, such as the dashboard.
 */
export function inlineScriptPolicy(scriptHashes: readonly string[]): RequestHandler {
  return contentSecurityPolicy({ directives: { ...directives, scriptSrc: ["'self'", ...scriptHashes] } });
}
