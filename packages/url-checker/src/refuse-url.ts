import type { AddressPolicy, Refusal } from './address-policy.js';

/** Why a URL may not be checked at all, decided before any DNS lookup or connection. */
export function refuseUrl(target: string, policy: AddressPolicy): Refusal {
  if (!URL.canParse(target)) return 'not a valid URL';
  const url = new URL(target);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol} is not http or https`;
  if (url.username || url.password) return 'URLs with credentials are not checked';
  return policy.refuseHost(url.hostname);
}
