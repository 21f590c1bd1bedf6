/**
 * Environment for a web service under benchmark load. All the load comes from one client, so
 * the per-client rate limit stays on (its Redis round trip is part of what is measured) with a
 * limit no benchmark reaches.
 */
export const LOAD_TEST_ENV: Readonly<Record<string, string>> = { RATE_LIMIT_REQUESTS: '10000000' };
