export { UrlChecker, type CheckResult, type UrlCheckerOptions } from './url-checker.js';
export { AddressPolicy, type Refusal } from './address-policy.js';
export { backoffDelay, type BackoffPolicy } from './backoff.js';
