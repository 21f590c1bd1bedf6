/**
 * Environment for a web service under load from one client (a benchmark, a fault test's steady
 * submissions). All of it comes from one address, so the per-client rate limit stays on (its
 * Redis round trip is part of what runs) with a limit no such load reaches; the default would
 * answer 429 and hide what is measured.
 */
export const LOAD_TEST_ENV: Readonly<Record<string, string>> = { RATE_LIMIT_REQUESTS: '10000000' };
