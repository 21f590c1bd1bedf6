import { describe, expect, it } from 'vitest';
import { parseRedisUrl, redactRedisUrl, RedisUrlError } from '../src/index.js';

const SECRET = 's3cr:et/p#w';

describe('parseRedisUrl', () => {
  it.each([
    ['redis://localhost', { kind: 'standalone', tls: false, node: { host: 'localhost', port: 6379 }, db: 0 }],
    ['redis://10.0.0.5:6380/', { kind: 'standalone', tls: false, node: { host: '10.0.0.5', port: 6380 }, db: 0 }],
    [
      'REDIS://cache_1.internal:7000/3',
      { kind: 'standalone', tls: false, node: { host: 'cache_1.internal', port: 7000 }, db: 3 },
    ],
    [
      'rediss://:pw@ec2-1-2-3-4.compute-1.amazonaws.com:25070',
      {
        kind: 'standalone',
        tls: true,
        password: 'pw',
        node: { host: 'ec2-1-2-3-4.compute-1.amazonaws.com', port: 25070 },
        db: 0,
      },
    ],
    [
      'redis://default:p%40ss%3Aw@[::1]:6390/15',
      {
        kind: 'standalone',
        tls: false,
        username: 'default',
        password: 'p@ss:w',
        node: { host: '::1', port: 6390 },
        db: 15,
      },
    ],
    ['redis://[::1]', { kind: 'standalone', tls: false, node: { host: '::1', port: 6379 }, db: 0 }],
    ['redis://:@localhost', { kind: 'standalone', tls: false, node: { host: 'localhost', port: 6379 }, db: 0 }],
    // Generated passwords with unencoded ':', '/', '#' and '@' still parse: they end at the last '@'.
    [
      `redis://:${SECRET}@x@host:1/2`,
      {
        kind: 'standalone',
        tls: false,
        password: `${SECRET}@x`,
        node: { host: 'host', port: 1 },
        db: 2,
      },
    ],
    [
      'redis+sentinel://s1,s2:26380/mymaster',
      {
        kind: 'sentinel',
        tls: false,
        masterName: 'mymaster',
        db: 0,
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
        ],
      },
    ],
    [
      'rediss+sentinel://app:pw@s1:26379/my%20master/4?sentinelPassword=sp%26w&sentinelUsername=sentinel-user',
      {
        kind: 'sentinel',
        tls: true,
        username: 'app',
        password: 'pw',
        masterName: 'my master',
        db: 4,
        sentinels: [{ host: 's1', port: 26379 }],
        sentinelPassword: 'sp&w',
        sentinelUsername: 'sentinel-user',
      },
    ],
    [
      'redis+cluster://n1:7000,n2:7001,[fe80::1]:7002',
      {
        kind: 'cluster',
        tls: false,
        nodes: [
          { host: 'n1', port: 7000 },
          { host: 'n2', port: 7001 },
          { host: 'fe80::1', port: 7002 },
        ],
      },
    ],
    ['rediss+cluster://:pw@n1/', { kind: 'cluster', tls: true, password: 'pw', nodes: [{ host: 'n1', port: 6379 }] }],
  ])('parses %s', (url, expected) => {
    expect(parseRedisUrl(url)).toEqual(expected);
  });

  it('returns a frozen target', () => {
    const target = parseRedisUrl('redis+cluster://a,b');
    expect(Object.isFrozen(target)).toBe(true);
    expect(target.kind === 'cluster' && Object.isFrozen(target.nodes)).toBe(true);
  });

  it.each([
    ['', /must start with one of redis:\/\//],
    ['localhost:6379', /must start with one of/],
    ['http://localhost', /unknown scheme "http:\/\/"/],
    ['redis+socket://x', /unknown scheme/],
    ['redis://', /names no host/],
    ['redis://:pw@/0', /names no host/],
    ['redis://:6379', /host 1 is empty/],
    ['redis+cluster://a,,b', /host 2 is empty/],
    ['redis://bad host', /contains characters a host name cannot have/],
    ['redis://::1', /IPv6 address; write it in brackets/],
    ['redis://[::1', /host 1 is not a valid \[IPv6\] address/],
    ['redis://[::1]x', /text after its IPv6 address/],
    ['redis://host:', /port "" of host "host"/],
    ['redis://host:abc', /port "abc" of host "host" is not an integer from 1 to 65535/],
    ['redis://host:0', /port "0"/],
    ['redis://host:65536', /port "65536"/],
    ['redis://host:-1', /port "-1"/],
    ['redis://host/x', /database "x" is not a non-negative integer/],
    ['redis://host/1.5', /database "1.5"/],
    ['redis://host/1/2', /path must be empty or \/<db>/],
    ['redis://a,b', /names 2 hosts but a redis:\/\/ URL takes one/],
    ['redis://host#frag', /a '#' follows the host/],
    ['redis://host?db=1', /unknown query parameter "db"; allowed: none/],
    ['redis://:pw@host?x', /has no '='/],
    ['redis+sentinel://s1:26379', /names no master/],
    ['redis+sentinel://s1:26379/', /names no master/],
    ['redis+sentinel://s1/m/x', /database "x"/],
    ['redis+sentinel://s1/m/1/2', /path must be \/<masterName> or \/<masterName>\/<db>/],
    ['redis+sentinel://s1/m?sentinelPassword=a&sentinelPassword=b', /"sentinelPassword" is given twice/],
    [
      'redis+sentinel://s1/m?sentinelPasword=a',
      /unknown query parameter "sentinelPasword"; allowed: sentinelUsername, sentinelPassword/,
    ],
    ['redis+cluster://n1:7000/0', /a cluster URL takes no path/],
    ['redis://user@host', /user name but no password/],
    ['redis://user:@host', /user name but an empty password/],
    ['redis://:100%@host', /the password has an invalid percent-encoding/],
    ['redis+sentinel://s1/m?sentinelPassword=a@b', /an '@' follows the '\?'/],
  ])('rejects %j', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(RedisUrlError);
    expect(() => parseRedisUrl(url)).toThrow(message);
  });

  it.each([
    `redis://:${SECRET}@host:abc`,
    `redis://user:${SECRET}@host/x`,
    `rediss+sentinel://:${SECRET}@s1`,
    `redis+sentinel://:pw@s1/m?sentinelPassword=${encodeURIComponent(SECRET)}&x=1`,
    `redis://${encodeURIComponent(SECRET)}@host`,
    `redis+sentinel://s1/m?sentinelPassword=${SECRET}@x`,
    `redis://:%E0%A4%A@host`,
  ])('never echoes the password: %s', (url) => {
    let message = '';
    try {
      parseRedisUrl(url);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toBe('');
    for (const fragment of [SECRET, encodeURIComponent(SECRET), 's3cr', 'et/p', '%E0'])
      expect(message).not.toContain(fragment);
  });
});

describe('redactRedisUrl', () => {
  it.each([
    ['redis://localhost:6379/0', 'redis://localhost:6379/0'],
    ['rediss://:pw@host:25070', 'rediss://:***@host:25070'],
    ['redis://default:pw@host', 'redis://default:***@host'],
    [`redis://:${SECRET}@host`, 'redis://:***@host'],
    ['redis://mistaken-password@host', 'redis://***@host'],
    [
      'redis+sentinel://a:pw@s1,s2/m/1?sentinelPassword=sp&sentinelUsername=u',
      'redis+sentinel://a:***@s1,s2/m/1?sentinelPassword=***&sentinelUsername=u',
    ],
    ['redis+sentinel://s1/m?sentinelPassword=p@ss', 'redis+sentinel://***'],
    ['redis://host#secret', 'redis://host#***'],
    ['not a url at all', '***'],
    ['', '***'],
  ])('redacts %s', (url, expected) => {
    expect(redactRedisUrl(url)).toBe(expected);
  });
});
