import { isIPv6 } from 'node:net';

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

// The first four groups of an IPv6 address, expanded: one customer's /64 is one client, since
// a single host may pick any of its 2^64 addresses at will.
function ipv6Prefix64(address: string): string {
  const [head = '', tail] = address.split('%')[0]?.split('::') ?? [];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * The key a client's requests are counted under: its address as Express tells it (the
 * `trust proxy` setting decides whether X-Forwarded-For is believed), IPv4-mapped IPv6
 * addresses as plain IPv4, other IPv6 addresses by their /64 prefix.
 */
export function clientKey(ip: string | undefined): string {
  if (ip === undefined || ip === '') return 'unknown';
  const mapped = IPV4_MAPPED.exec(ip);
  if (mapped?.[1] !== undefined) return mapped[1];
  return isIPv6(ip) ? ipv6Prefix64(ip) : ip;
}
