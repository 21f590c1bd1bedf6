/** A bad environment variable: the message is one line naming the variable, what was expected and what was got. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly expected: string,
    got: string | undefined,
  ) {
    super(`${variable}: expected ${expected}, got ${got === undefined ? 'nothing' : JSON.stringify(got)}`);
    this.name = 'ConfigError';
  }
}
