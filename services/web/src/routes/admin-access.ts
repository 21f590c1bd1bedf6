import type { Request, RequestHandler } from 'express';
import type { WebConfig } from '@flotilla/config';
import { metricsAuthorized } from '@flotilla/metrics';
import { HttpProblem } from '../problems.js';

/** Who may use the dashboard and the admin API. */
export type AdminAccess = WebConfig['dashboard'];

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** 401 with a challenge unless the request carries the admin credentials (when they are configured). */
export function requireAdmin(access: AdminAccess): RequestHandler {
  return (req, _res, next) => {
    if (access.access === 'credentials' && !metricsAuthorized(access.auth, req)) {
      const challenge =
        access.auth.kind === 'basic'
          ? 'Basic realm="flotilla admin", charset="UTF-8"'
          : 'Bearer realm="flotilla admin"';
      throw new HttpProblem('unauthorized', 'this needs the admin credentials', undefined, {
        'www-authenticate': challenge,
      });
    }
    next();
  };
}

// CSRF: browsers label every request with where it came from (Sec-Fetch-Site, Origin); a change
// that another site's page makes a logged-in browser send is refused. Clients that are not
// browsers send neither header and cannot be tricked into sending credentials. An origin is
// scheme, host and port: http://host and https://host are different sites' pages.
function crossSite(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  // req.protocol follows X-Forwarded-Proto from the proxies TRUST_PROXY names, as a browser sees the page.
  const own = `${req.protocol}://${req.headers.host ?? ''}`;
  return !URL.canParse(origin) || !URL.canParse(own) || new URL(origin).origin !== new URL(own).origin;
}

/** 403 for a state-changing request that a browser sent on another site's behalf. */
export const sameOriginChanges: RequestHandler = (req, _res, next) => {
  if (!SAFE_METHODS.has(req.method) && crossSite(req)) {
    throw new HttpProblem('cross-site-request', 'admin actions must come from the dashboard itself');
  }
  next();
};
