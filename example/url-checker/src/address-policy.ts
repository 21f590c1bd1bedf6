import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { InvalidUrlCheckerOption } from './invalid-url-checker-option.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** What checks may reach besides public unicast addresses. */
export interface Allowlist {
  /** Host names allowed whatever they resolve to: exact (`status.internal`) or `*.example.org` for its subdomains. */
  readonly hosts?: readonly string[];
  /** Address ranges allowed, e.g. `10.20.0.0/16`. */
  readonly cidrs?: readonly string[];
}

/** Why a host or address may not be checked, or undefined when it may. */
export type Refusal = string | undefined;

// Names that reach a cloud's instance metadata service from inside the cloud; refused before any
// DNS lookup, since some of them resolve only there.
const METADATA_HOSTS = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

// ipaddr.js files the deprecated IPv4-compatible form (::127.0.0.1) under unicast, yet a stack
// that still honours it reaches the IPv4 address inside.
const [IPV4_COMPATIBLE, IPV4_COMPATIBLE_BITS] = ipaddr.parseCIDR('::/96');

/** Lower case, without IPv6 brackets or the trailing dot of a fully qualified name. */
function normalise(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

/**
 * Decides which hosts and addresses checks may reach: public unicast addresses plus what the
 * allowlist adds. Refused: loopback, private, link-local (the 169.254.169.254 metadata endpoint),
 * unique-local, carrier-grade NAT, multicast, unspecified, broadcast, reserved and the other
 * special ranges ipaddr.js knows, in IPv4, IPv6 and IPv4-mapped forms, and the metadata host
 * names. With `hostsOnly`, nothing but the listed hosts may be checked at all.
 */
export class AddressPolicy {
  readonly #cidrs: [Address, number][];
  readonly #hosts: Set<string>;
  readonly #suffixes: string[];
  readonly #hostsOnly: boolean;

  constructor(allow: Allowlist = {}, options: { readonly hostsOnly?: boolean } = {}) {
    this.#cidrs = (allow.cidrs ?? []).map(parseCidr);
    const hosts = (allow.hosts ?? []).map(parseHost);
    this.#hosts = new Set(hosts.filter((host) => !host.startsWith('.')));
    this.#suffixes = hosts.filter((host) => host.startsWith('.'));
    this.#hostsOnly = options.hostsOnly ?? false;
    if (this.#hostsOnly && hosts.length === 0) {
      throw new InvalidUrlCheckerOption('allowHostsOnly', 'allow.hosts to list at least one host', 'none');
    }
  }

  /** Refusal of a URL's host, decided before anything is resolved or connected. */
  refuseHost(hostname: string): Refusal {
    const host = normalise(hostname);
    if (this.#allowsHost(host)) return undefined;
    if (this.#hostsOnly) return `host ${host} is not in the allowlist`;
    // An IP literal is connected to without a lookup, so it is judged here.
    if (isIP(host) !== 0) return this.refuseAddress(host);
    if (METADATA_HOSTS.has(host)) return `host ${host} is a cloud metadata service`;
    return undefined;
  }

  /** Refusal of the addresses a host name resolved to, decided when a connection is opened. */
  refuseResolved(hostname: string, addresses: readonly string[]): Refusal {
    if (this.#allowsHost(normalise(hostname))) return undefined;
    // Every address is judged, not only the first: the socket may fall back to any of them.
    for (const address of addresses) {
      const refused = this.#refusedClass(address);
      if (refused) return `host ${hostname} resolves to ${address}, which is ${refused}`;
    }
    return undefined;
  }

  /** Refusal of one IP address, unless it lies in an allowed CIDR. */
  refuseAddress(text: string): Refusal {
    const refused = this.#refusedClass(text);
    return refused && `address ${text} is ${refused}`;
  }

  /** The class of a refused address (`loopback`, `private`, …), or undefined when it is allowed. */
  #refusedClass(text: string): string | undefined {
    if (!ipaddr.isValid(text)) return 'not an IP address';
    // IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address it reaches.
    const address = ipaddr.process(text);
    if (this.#cidrs.some(([network, bits]) => address.kind() === network.kind() && address.match(network, bits)))
      return undefined;
    const range = address.range();
    if (range !== 'unicast') return range;
    if (address.kind() === 'ipv6' && address.match(IPV4_COMPATIBLE, IPV4_COMPATIBLE_BITS)) return 'ipv4Compatible';
    return undefined;
  }

  #allowsHost(host: string): boolean {
    return this.#hosts.has(host) || this.#suffixes.some((suffix) => host.endsWith(suffix));
  }
}

function parseCidr(entry: string): [Address, number] {
  try {
    return ipaddr.parseCIDR(entry);
  } catch {
    throw new InvalidUrlCheckerOption('allow.cidrs', 'a CIDR such as 10.0.0.0/8', entry);
  }
}

/** An exact host, or `.example.org` for `*.example.org`. */
function parseHost(entry: string): string {
  const host = normalise(entry.startsWith('*.') ? entry.slice(1) : entry);
  // URLs carry IPv6 literals in their compressed form; compare like with like.
  if (isIP(host) === 6) return ipaddr.parse(host).toString();
  if (!/^\.?[a-z0-9_:-]+(\.[a-z0-9_-]+)*$/.test(host)) {
    throw new InvalidUrlCheckerOption('allow.hosts', 'a host name or *.suffix', entry);
  }
  return host;
}
