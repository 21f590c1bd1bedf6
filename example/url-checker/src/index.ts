export { UrlChecker, type CheckOutcome, type CheckResult } from './url-checker.js';
export type { UrlCheckerOptions } from './url-checker-options.js';
export { InvalidUrlCheckerOption } from './invalid-url-checker-option.js';
export { AddressPolicy, type Allowlist, type Refusal } from './address-policy.js';
export { urlRefusals } from './refuse-url.js';
export type { Resolver } from './guarded-lookup.js';
export { backoffDelay, type BackoffPolicy } from './backoff.js';
export { UrlCheckStore, MAX_TARGETS, type CheckRecord, type RoundReport } from './url-check-store.js';
