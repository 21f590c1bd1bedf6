import { AddressPolicy, type Refusal } from './address-policy.js';
import { allowlist, type UrlCheckerOptions } from './url-checker-options.js';

/** Why a URL may not be checked at all, decided before any DNS lookup or connection. */
export function refuseUrl(target: string, policy: AddressPolicy): Refusal {
  if (!URL.canParse(target)) return 'not a valid URL';
  const url = new URL(target);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol} is not http or https`;
  if (url.username || url.password) return 'URLs with credentials are not checked';
  return policy.refuseHost(url.hostname);
}

/**
 * The check a checker with this allowlist makes of a URL before any lookup, for whoever keeps
 * targets for it (the web's API): a target refused here would never be checked.
 */
export function urlRefusals(allow: UrlCheckerOptions['allow'] = []): (target: string) => Refusal {
  const policy = new AddressPolicy(allowlist(allow));
  return (target) => refuseUrl(target, policy);
}
