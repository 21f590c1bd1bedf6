import { z } from 'zod';

// Environment values are strings; these schemas turn them into typed values with messages
// that read well after "expected".

export const boolFromEnv = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

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
    .pipe(z.number().min(min, `a number of seconds from ${min} to ${max}`).max(max, `a number of seconds from ${min} to ${max}`));
}

export const redisUrlFromEnv = z
  .string()
  .regex(/^rediss?(\+(sentinel|cluster))?:\/\/./, 'a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL');

export function listFromEnv(item: z.ZodType<string, string>): z.ZodType<string[], string> {
  return z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0))
    .pipe(z.array(item).min(1, 'a comma-separated list'));
}
