import { splitRedisUrl } from './split-redis-url.js';

const MASK = '***';
const SECRET_PARAMETER = /password/i;

/**
 * Returns the URL fit for a log line: the password, every `*password*` query value and any
 * fragment replaced by `***`. A string that is not `scheme://…` is replaced entirely, since
 * it could be anything, including a bare password.
 */
export function redactRedisUrl(url: string): string {
  const parts = splitRedisUrl(url);
  if (!parts) return MASK;
  // An `@` inside the query (an unencoded sentinel password) makes everything after it look
  // like a host, so nothing past the scheme can be trusted to be harmless.
  if (parts.userinfo?.includes('?')) return `${parts.scheme}://${MASK}`;
  let out = `${parts.scheme}://`;
  if (parts.userinfo !== undefined) {
    const colon = parts.userinfo.indexOf(':');
    // Without a colon the whole userinfo is most likely a password written in the wrong place.
    out += colon >= 0 ? `${parts.userinfo.slice(0, colon)}:${MASK}@` : `${MASK}@`;
  }
  out += parts.hosts + parts.path;
  if (parts.query !== undefined) {
    const pairs = parts.query.split('&').map((pair) => {
      const eq = pair.indexOf('=');
      return eq >= 0 && SECRET_PARAMETER.test(pair.slice(0, eq)) ? `${pair.slice(0, eq)}=${MASK}` : pair;
    });
    out += `?${pairs.join('&')}`;
  }
  if (parts.fragment !== undefined) out += `#${MASK}`;
  return out;
}
