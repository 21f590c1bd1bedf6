import { defineJob } from '@flotilla/queue';
import { z } from 'zod';
import { outboundQueue } from '../queues.js';

/** A URL the checker may be asked to fetch: http(s), no credentials, of a sane length. */
// Stored as a URL-check target: at most 2,048 characters, and the store keeps at most
// MAX_TARGETS (1,000) of them, so targets take 2 MB of Redis at the very most.
export const checkableUrl = z
  .url({ protocol: /^https?$/, error: 'an http:// or https:// URL' })
  .max(2048)
  // The WHATWG parser drops tabs and line breaks, so "https://a/\r\nHost: b" would pass as a
  // URL yet be stored, logged and shown with the line break in it.
  .refine(
    (url) => !/\s/.test(url) && [...url].every((c) => c >= '!' && c !== '\u007f'),
    'a URL without spaces or control characters',
  )
  .refine((url) => !/^[a-z]+:\/\/[^/?#]*@/i.test(url), 'a URL without user name or password');

/** The outcome of checking one URL, as the url-checker reports it. */
export const checkResult = z.object({
  url: z.string(),
  ok: z.boolean().describe('True when the outcome is up'),
  outcome: z.enum(['up', 'down', 'timeout', 'error', 'blocked']),
  status: z.int().optional(),
  attempts: z.int(),
  durationMs: z.int(),
  error: z.string().optional(),
});

/** Checks one URL now, through the fleet-wide rate limit of the outbound queue. */
export const checkUrlJob = defineJob({
  name: 'check-url',
  queue: outboundQueue.name,
  description:
    'Fetches a URL (keep-alive pool, timeouts, retries with jittered backoff) and reports whether it is up. Internal and metadata addresses are refused.',
  input: z.strictObject({ url: checkableUrl.describe('The http(s) URL to check') }),
  result: checkResult,
  retry: { attempts: 1, backoff: { type: 'fixed', delayMs: 1000, jitter: 0 } },
});
