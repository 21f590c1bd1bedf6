/** `acquire` waited its whole `waitMs` and another holder still had the lock. */
export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
  constructor(
    readonly lockName: string,
    readonly waitedMs: number,
  ) {
    super(`lock "${lockName}" is still held by another owner after waiting ${waitedMs} ms`);
  }
}

/**
 * The lease ran out, was deleted or passed to another owner: whoever held it must stop acting on
 * what it protects. `cause` is set when Redis could not be reached to renew it in time.
 */
export class LockLostError extends Error {
  override readonly name = 'LockLostError';
  constructor(
    readonly lockName: string,
    readonly token: number,
    options?: ErrorOptions,
  ) {
    super(`lock "${lockName}" (fencing token ${token}) is no longer held by this owner`, options);
  }
}
