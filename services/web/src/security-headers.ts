import type { RequestHandler } from 'express';
import helmet, { contentSecurityPolicy } from 'helmet';

// Helmet's defaults, less `upgrade-insecure-requests`: the web is often reached over plain HTTP
// on a laptop or behind a TLS-terminating router, and there that directive would send the
// browser to an https:// address nobody serves, breaking bull-board's scripts and styles.
const directives = { upgradeInsecureRequests: null };

/**
 * Security headers on every response (helmet): a Content Security Policy that allows scripts
 * only from this origin, no MIME sniffing, no framing by other sites, HSTS, a strict referrer
 * policy, and no cross-origin embedding of API responses.
 */
export function securityHeaders(): RequestHandler {
  return helmet({ contentSecurityPolicy: { directives } });
}

/**
 * The same Content Security Policy, except that the inline scripts with these hashes
 * (`'sha256-…'`) may run too: for pages that embed their own script, such as the dashboard.
 */
export function inlineScriptPolicy(scriptHashes: readonly string[]): RequestHandler {
  return contentSecurityPolicy({ directives: { ...directives, scriptSrc: ["'self'", ...scriptHashes] } });
}
