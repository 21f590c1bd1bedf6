/** Thrown when a Redis URL is malformed; the message names the problem and never contains a password. */
export class RedisUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUrlError';
  }
}
