import { redactRedisUrl } from './redact-redis-url.js';
import type { RedisNode, RedisTarget } from './redis-target.js';
import { RedisUrlError } from './redis-url-error.js';
import { splitRedisUrl } from './split-redis-url.js';

type TargetKind = RedisTarget['kind'];

const SCHEMES: Readonly<Record<string, { kind: TargetKind; tls: boolean }>> = {
  redis: { kind: 'standalone', tls: false },
  rediss: { kind: 'standalone', tls: true },
  'redis+sentinel': { kind: 'sentinel', tls: false },
  'rediss+sentinel': { kind: 'sentinel', tls: true },
  'redis+cluster': { kind: 'cluster', tls: false },
  'rediss+cluster': { kind: 'cluster', tls: true },
};
const SCHEME_LIST = Object.keys(SCHEMES)
  .map((scheme) => `${scheme}://`)
  .join(', ');
const DEFAULT_PORT: Readonly<Record<TargetKind, number>> = { standalone: 6379, sentinel: 26379, cluster: 6379 };
const QUERY_PARAMETERS: Readonly<Record<TargetKind, readonly string[]>> = {
  standalone: [],
  sentinel: ['sentinelUsername', 'sentinelPassword'],
  cluster: [],
};
const HOSTNAME = /^[A-Za-z0-9_.-]+$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const PORT = /^\d{1,5}$/;
const DB = /^\d{1,9}$/;

/**
 * Parses a Redis URL into a target: `redis[s]://[[user]:password@]host[:port][/db]`,
 * `redis[s]+sentinel://[[user]:password@]host[:port][,host[:port]…]/masterName[/db][?sentinelPassword=…]`
 * or `redis[s]+cluster://[[user]:password@]host[:port][,host[:port]…]`. Throws a
 * {@link RedisUrlError} that names what is wrong and never contains the password.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const fail = (reason: string): never => {
    throw new RedisUrlError(`Invalid Redis URL "${redactRedisUrl(url)}": ${reason}`);
  };
  const parts = splitRedisUrl(url);
  if (!parts) throw new RedisUrlError(`Invalid Redis URL: it must start with one of ${SCHEME_LIST}`);
  const scheme = SCHEMES[parts.scheme.toLowerCase()];
  if (!scheme) return fail(`unknown scheme "${parts.scheme}://"; expected one of ${SCHEME_LIST}`);
  if (parts.userinfo?.includes('?')) {
    return fail("an '@' follows the '?'; percent-encode '@' (%40) and '?' (%3F) in passwords and query values");
  }
  if (parts.fragment !== undefined)
    return fail("a '#' follows the host; percent-encode it (%23) if it belongs to a password");

  const credentials = parseUserinfo(parts.userinfo, fail);
  const nodes = parseHosts(parts.hosts, DEFAULT_PORT[scheme.kind], fail);
  const query = parseQuery(parts.query, QUERY_PARAMETERS[scheme.kind], fail);
  const base = { tls: scheme.tls, ...credentials };

  switch (scheme.kind) {
    case 'standalone': {
      const [node] = nodes;
      if (!node || nodes.length > 1) {
        return fail(
          `it names ${nodes.length} hosts but a ${parts.scheme}:// URL takes one; use redis+sentinel:// or redis+cluster:// for several`,
        );
      }
      if (parts.path.indexOf('/', 1) >= 0) return fail('the path must be empty or /<db>');
      const db = parseDb(parts.path.slice(1), fail);
      return Object.freeze({ kind: 'standalone', ...base, node, db });
    }
    case 'sentinel': {
      const [name = '', dbText = '', ...extra] = parts.path.slice(1).split('/');
      if (extra.length > 0) return fail('the path must be /<masterName> or /<masterName>/<db>');
      const masterName = decode(name, 'the master name', fail);
      if (masterName === '')
        return fail('it names no master; write the Sentinel master name as the path, e.g. /mymaster');
      const db = parseDb(dbText, fail);
      return Object.freeze({
        kind: 'sentinel',
        ...base,
        sentinels: nodes,
        masterName,
        db,
        ...(query['sentinelUsername'] ? { sentinelUsername: query['sentinelUsername'] } : {}),
        ...(query['sentinelPassword'] ? { sentinelPassword: query['sentinelPassword'] } : {}),
      });
    }
    case 'cluster':
      if (parts.path !== '' && parts.path !== '/') {
        return fail('a cluster URL takes no path: Redis Cluster has only database 0');
      }
      return Object.freeze({ kind: 'cluster', ...base, nodes });
  }
}

type Fail = (reason: string) => never;

function parseUserinfo(userinfo: string | undefined, fail: Fail): { username?: string; password?: string } {
  if (userinfo === undefined || userinfo === '') return {};
  const colon = userinfo.indexOf(':');
  // A user name cannot authenticate alone; without a colon the text is far more likely a
  // password missing its leading ':' than a user name, and ignoring it would hide that.
  if (colon < 0)
    return fail("it has a user name but no password; write ':password@' for a password alone or 'user:password@'");
  const username = decode(userinfo.slice(0, colon), 'the user name', fail);
  const password = decode(userinfo.slice(colon + 1), 'the password', fail);
  if (password === '') {
    if (username !== '') return fail('it has a user name but an empty password');
    return {};
  }
  return username === '' ? { password } : { username, password };
}

function parseHosts(hosts: string, defaultPort: number, fail: Fail): readonly RedisNode[] {
  if (hosts === '') return fail('it names no host');
  const nodes = hosts.split(',').map((entry, index) => parseHost(entry, index, defaultPort, fail));
  return Object.freeze(nodes);
}

function parseHost(entry: string, index: number, defaultPort: number, fail: Fail): RedisNode {
  let host: string;
  let portText: string | undefined;
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    host = close >= 0 ? entry.slice(1, close) : '';
    if (close < 0 || !IPV6.test(host) || !host.includes(':'))
      return fail(`host ${index + 1} is not a valid [IPv6] address`);
    const after = entry.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return fail(`host ${index + 1} has text after its IPv6 address`);
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colon = entry.indexOf(':');
    host = colon >= 0 ? entry.slice(0, colon) : entry;
    portText = colon >= 0 ? entry.slice(colon + 1) : undefined;
    if (portText?.includes(':'))
      return fail(`host ${index + 1} looks like an IPv6 address; write it in brackets, e.g. [::1]:6379`);
    if (host === '') return fail(`host ${index + 1} is empty`);
    if (!HOSTNAME.test(host)) return fail(`host "${host}" contains characters a host name cannot have`);
  }
  if (portText === undefined) return Object.freeze({ host, port: defaultPort });
  const port = Number(portText);
  if (!PORT.test(portText) || port < 1 || port > 65535) {
    return fail(`port "${portText}" of host "${host}" is not an integer from 1 to 65535`);
  }
  return Object.freeze({ host, port });
}

function parseDb(text: string, fail: Fail): number {
  if (text === '') return 0;
  if (!DB.test(text)) return fail(`database "${text}" is not a non-negative integer`);
  return Number(text);
}

function parseQuery(query: string | undefined, allowed: readonly string[], fail: Fail): Record<string, string> {
  const values: Record<string, string> = {};
  if (query === undefined || query === '') return values;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq < 0) return fail(`a query parameter has no '='; allowed parameters: ${allowed.join(', ') || 'none'}`);
    const name = decode(pair.slice(0, eq), 'a query parameter name', fail);
    if (!allowed.includes(name)) {
      return fail(`unknown query parameter "${name}"; allowed: ${allowed.join(', ') || 'none for this scheme'}`);
    }
    if (name in values) return fail(`query parameter "${name}" is given twice`);
    values[name] = decode(pair.slice(eq + 1), `the value of ${name}`, fail);
  }
  return values;
}

function decode(text: string, what: string, fail: Fail): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail(`${what} has an invalid percent-encoding; write '%' as %25`);
  }
}
