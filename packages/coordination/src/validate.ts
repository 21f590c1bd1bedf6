/** Throws a RangeError naming `what` unless `value` is a positive integer. */
export function positiveInteger(what: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${what} must be a positive integer, got ${String(value)}`);
  return value;
}

/** Throws a RangeError naming `what` unless `value` is a non-negative integer. */
export function nonNegativeInteger(what: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative integer, got ${String(value)}`);
  return value;
}

/** Throws a TypeError unless `value` is a non-empty string without whitespace or braces (they end up in keys). */
export function keyPart(what: string, value: string): string {
  if (typeof value !== 'string' || !/^[^\s{}]{1,200}$/.test(value)) {
    throw new TypeError(`${what} must be 1 to 200 characters without whitespace or braces, got ${JSON.stringify(value)}`);
  }
  return value;
}
