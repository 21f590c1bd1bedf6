import { isIP } from 'node:net';
import { z } from 'zod';

// Environment values are strings; these schemas turn them into typed values with messages
// that read well after "expected".

export const boolFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export function intFromEnv(min: number, max: number): z.ZodType<number, string> {
  return z
    .string()
    .regex(/^\d+$/, `an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `an integer from ${min} to ${max}`).max(max, `an integer from ${min} to ${max}`));
}

export function secondsFromEnv(min: number, max: number): z.ZodType<number, string> {
  return z
    .string()
    .regex(/^\d+(\.\d+)?$/, `a number of seconds from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, `a number of seconds from ${min} to ${max}`)
        .max(max, `a number of seconds from ${min} to ${max}`),
    );
}

export const redisUrlFromEnv = z
  .string()
  .regex(/^rediss?(\+(sentinel|cluster))?:\/\/./, 'a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL');

export function listFromEnv<T extends string>(item: z.ZodType<T, string>): z.ZodType<T[], string> {
  return z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    )
    .pipe(z.array(item).min(1, 'a comma-separated list'));
}

const ORIGIN = /^https?:\/\/([a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d{1,5})?$/i;
const ORIGINS_EXPECTED = '* or origins like https://app.example.com,http://localhost:5173';

function items(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** `*` or a comma-separated list of web origins (scheme, host, optional port; no path). */
export const originsFromEnv: z.ZodType<'*' | string[], string> = z
  .string()
  .refine(
    (v) => v.trim() === '*' || (items(v).length > 0 && items(v).every((origin) => ORIGIN.test(origin))),
    ORIGINS_EXPECTED,
  )
  // Browsers send Origin with scheme and host in lower case: compare in that form.
  .transform((v) => (v.trim() === '*' ? ('*' as const) : items(v).map((origin) => origin.toLowerCase())));

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isProxyAddress(item: string): boolean {
  if (PROXY_NAMES.has(item)) return true;
  const [address = '', bits, ...rest] = item.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128));
}

/**
 * Which peers may tell the client's address in X-Forwarded-For: `false` (none), a hop count,
 * or addresses, CIDRs and the names loopback, linklocal, uniquelocal. Never `true`, which would
 * let any client choose its own address.
 */
export const trustProxyFromEnv: z.ZodType<false | number | string[], string> = z
  .string()
  .refine(
    (v) => v === 'false' || /^\d$/.test(v) || (items(v).length > 0 && items(v).every(isProxyAddress)),
    'false, a hop count from 1 to 9, or addresses, CIDRs, loopback, linklocal, uniquelocal',
  )
  .transform((v) => (v === 'false' || v === '0' ? false : /^\d$/.test(v) ? Number(v) : items(v)));
