import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import type { AddressPolicy } from './address-policy.js';

/** Resolves a host name to all of its addresses. */
export type Resolver = (hostname: string) => Promise<readonly LookupAddress[]>;

/** The operating system's resolver (getaddrinfo, so /etc/hosts counts), as `fetch` and `net` use it. */
export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true });

/**
 * A connection the address policy refused; the checker reports it as `blocked`. The message says
 * only that the name is not public; `detail` names the address it resolved to, for the operator:
 * in a result anyone can read it would map the internal DNS.
 */
export class BlockedAddressError extends Error {
  override readonly name = 'BlockedAddressError';

  constructor(
    message: string,
    readonly detail: string,
  ) {
    super(message);
  }
}

// Chosen over undici's dns interceptor, which rewrites the request's origin to the address and
// so needs care with TLS server names; the socket's own lookup leaves the request untouched.
/**
 * The `lookup` a socket uses to turn a host name into the address it connects to, refusing
 * addresses the policy does not allow. Judging here, for every new connection, covers names that
 * resolve to internal addresses and DNS rebinding alike: the address judged is the one connected to.
 */
export function guardedLookup(policy: AddressPolicy, resolve: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (resolved) => {
        const refusal = policy.refuseResolved(
          hostname,
          resolved.map(({ address }) => address),
        );
        if (refusal)
          return callback(new BlockedAddressError(`host ${hostname} is not a public address`, refusal), '', 0);
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
        const addresses =
          family === 4 || family === 6 ? resolved.filter((address) => address.family === family) : [...resolved];
        const [first] = addresses;
        if (!first)
          return callback(
            Object.assign(new Error(`${hostname} has no ${family ? `IPv${family} ` : ''}address`), {
              code: 'ENOTFOUND',
            }),
            '',
            0,
          );
        return options.all ? callback(null, addresses) : callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}
