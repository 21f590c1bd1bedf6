/** The raw pieces of a Redis URL, cut the same way for parsing and for redaction. */
export interface RedisUrlParts {
  /** The scheme as written, without `://`. */
  readonly scheme: string;
  /** Everything before the last `@`, when there is one. */
  readonly userinfo: string | undefined;
  /** The comma-separated `host[:port]` list. */
  readonly hosts: string;
  /** `''` or a string starting with `/`. */
  readonly path: string;
  /** What follows the first `?` after the host list, when there is one. */
  readonly query: string | undefined;
  /** What follows the first `#` after the host list, when there is one. */
  readonly fragment: string | undefined;
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/**
 * Cuts a URL into its parts, or returns undefined when it does not start with `scheme://`.
 *
 * The credentials end at the LAST `@` rather than at the first `/`, `?` or `#` as in the
 * WHATWG parser: generated passwords often contain those characters unencoded, and cutting
 * there would leave the rest of the password in the host or path, where an error message
 * or a log line would print it.
 */
export function splitRedisUrl(url: string): RedisUrlParts | undefined {
  const match = SCHEME.exec(url);
  if (!match?.[1]) return undefined;
  const rest = url.slice(match[0].length);
  const at = rest.lastIndexOf('@');
  const userinfo = at >= 0 ? rest.slice(0, at) : undefined;
  let tail = rest.slice(at + 1);
  let fragment: string | undefined;
  const hash = tail.indexOf('#');
  if (hash >= 0) {
    fragment = tail.slice(hash + 1);
    tail = tail.slice(0, hash);
  }
  let query: string | undefined;
  const question = tail.indexOf('?');
  if (question >= 0) {
    query = tail.slice(question + 1);
    tail = tail.slice(0, question);
  }
  const slash = tail.indexOf('/');
  return {
    scheme: match[1],
    userinfo,
    hosts: slash >= 0 ? tail.slice(0, slash) : tail,
    path: slash >= 0 ? tail.slice(slash) : '',
    query,
    fragment,
  };
}
