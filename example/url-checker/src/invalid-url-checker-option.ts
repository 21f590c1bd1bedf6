/** A UrlChecker option, or the concurrency given to checkAll, that cannot be used. */
export class InvalidUrlCheckerOption extends RangeError {
  override readonly name = 'InvalidUrlCheckerOption';

  constructor(
    /** The option at fault, e.g. `allow.cidrs`. */
    readonly option: string,
    readonly expected: string,
    got: unknown,
  ) {
    super(
      `UrlChecker option ${option}: expected ${expected}, got ${typeof got === 'string' ? JSON.stringify(got) : String(got)}`,
    );
  }
}
