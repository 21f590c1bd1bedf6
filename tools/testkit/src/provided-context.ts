/** What the testkit's global setup hands to every test through Vitest's `inject`. */
export interface TestkitProvidedContext {
  /** URL of the redis-server started for this test run; it is private to the run. */
  readonly redisUrl: string;
}

// Types `inject('redisUrl')` in every test that imports anything from the testkit.
declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
