/** Thrown by {@link waitForReady} when a connection is not ready in time or was closed. */
export class RedisNotReadyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RedisNotReadyError';
  }
}
