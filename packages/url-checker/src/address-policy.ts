import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

// Names that resolve to a cloud's instance metadata service from inside the cloud.
const METADATA_HOSTS = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

/** Why an address or host may not be checked, or undefined when it may. */
export type Refusal = string | undefined;

/**
 * Decides which hosts and addresses checks may reach: public unicast addresses, plus what the
 * operator allows explicitly (CIDRs like 10.0.0.0/8, host names like status.internal or
 * *.example.org). Everything else — loopback, private, link-local (the 169.254.169.254 metadata
 * endpoint), unique-local, carrier-grade NAT, multicast, reserved, and the metadata host
 * names — is refused, in IPv6 and IPv4-mapped forms alike.
 */
export class AddressPolicy {
  readonly #cidrs: [Address, number][] = [];
  readonly #hosts = new Set<string>();
  readonly #suffixes: string[] = [];

  constructor(allow: readonly string[] = []) {
    for (const entry of allow) {
      if (entry.includes('/')) {
        try {
          this.#cidrs.push(ipaddr.parseCIDR(entry));
        } catch {
          throw new TypeError(`allow: "${entry}" is not a valid CIDR`);
        }
      } else if (entry.startsWith('*.')) {
        this.#suffixes.push(entry.slice(1).toLowerCase());
      } else {
        this.#hosts.add(entry.toLowerCase());
      }
    }
  }

  /** Whether a host name was allowed explicitly (it may then resolve to any address). */
  allowsHost(hostname: string): boolean {
    const host = hostname.toLowerCase();
    return this.#hosts.has(host) || this.#suffixes.some((suffix) => host.endsWith(suffix));
  }

  /** Refusal of a host name before it is resolved (metadata names), unless allowed explicitly. */
  refuseHost(hostname: string): Refusal {
    if (this.allowsHost(hostname)) return undefined;
    if (METADATA_HOSTS.has(hostname.toLowerCase().replace(/\.$/, ''))) return `host ${hostname} is a cloud metadata service`;
    return undefined;
  }

  /** Refusal of an IP address (from a URL or from DNS), unless inside an allowed CIDR. */
  refuseAddress(text: string): Refusal {
    if (!ipaddr.isValid(text)) return `"${text}" is not an IP address`;
    // IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address it reaches.
    const address = ipaddr.process(text);
    if (this.#cidrs.some(([network, bits]) => address.kind() === network.kind() && address.match(network, bits))) return undefined;
    const range = address.range();
    return range === 'unicast' ? undefined : `address ${text} is ${range}`;
  }
}
