// Redis PX takes larger values, but a lease or heartbeat of more than a year is a unit mistake.
const MAX_MS = 365 * 24 * 60 * 60 * 1000;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

/** Throws a RangeError naming `what` unless `value` is a whole number of milliseconds, at least 1. */
export function positiveMs(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_MS) {
    throw new RangeError(
      `${what} must be a positive integer of milliseconds (at most ${MAX_MS}), got ${describe(value)}`,
    );
  }
  return value;
}

/** Throws a RangeError naming `what` unless `value` is a whole number of milliseconds, 0 or more. */
export function nonNegativeMs(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_MS) {
    throw new RangeError(
      `${what} must be a non-negative integer of milliseconds (at most ${MAX_MS}), got ${describe(value)}`,
    );
  }
  return value;
}

/** Throws a RangeError naming `what` unless `value` is a positive safe integer. */
export function positiveInteger(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${what} must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

/**
 * Throws a TypeError unless `value` can be part of a Redis key: 1 to 200 characters, no
 * whitespace, and no braces, which would change the key's Redis Cluster hash tag.
 */
export function keyPart(what: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[^\s{}]{1,200}$/.test(value)) {
    throw new TypeError(`${what} must be 1 to 200 characters without whitespace or braces, got ${describe(value)}`);
  }
  return value;
}

/** Throws a TypeError unless `value` is a key prefix: a string, possibly empty, without braces or whitespace. */
export function keyPrefix(what: string, value: unknown): string {
  if (value === '') return '';
  return keyPart(what, value);
}

/** Throws a TypeError unless `value` looks like an ioredis connection. */
export function redisClient<T>(what: string, value: T): T {
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as { callBuffer?: unknown }).callBuffer !== 'function'
  ) {
    throw new TypeError(`${what} must be an ioredis connection (Redis or Cluster), got ${describe(value)}`);
  }
  return value;
}

/** Throws a TypeError naming `what` unless `value` is an options object. */
export function optionsObject<T extends object>(what: string, value: T): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TypeError(`${what} must be an object, got ${describe(value)}`);
  return value;
}
