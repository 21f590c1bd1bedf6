/**
 * Turns values into the bytes stored in Redis and back. `sizeOf`, when given, is the number
 * of bytes the decoded value holds in memory, used to bound the in-process tier; without it
 * the encoded length stands in.
 */
export interface CacheCodec<T> {
  encode(value: T): Buffer | string;
  decode(raw: Buffer): T;
  sizeOf?(value: T): number;
}

/**
 * The default codec: JSON text. Values JSON cannot represent (undefined, functions, symbols,
 * BigInt, cycles) are refused with a TypeError instead of being stored as something else.
 */
export const jsonCodec: CacheCodec<unknown> = Object.freeze({
  encode(value: unknown): string {
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) throw new TypeError(`JSON cannot represent a value of type ${typeof value}`);
    return text;
  },
  decode(raw: Buffer): unknown {
    return JSON.parse(raw.toString('utf8')) as unknown;
  },
});
