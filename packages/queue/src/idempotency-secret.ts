import { randomBytes } from 'node:crypto';
import type { RedisClient } from '@flotilla/redis';

/**
 * The key for deriving job ids from idempotency keys. Every web replica must use the same one;
 * when the operator sets none, the first replica to start creates it in Redis (SET NX) and the
 * others read it, so nothing has to be configured.
 */
export async function ensureIdempotencySecret(
  client: RedisClient,
  prefix: string,
  configured: string | undefined,
): Promise<string> {
  if (configured !== undefined) return configured;
  const key = `${prefix}:flotilla:idempotency-secret`;
  await client.set(key, randomBytes(32).toString('base64url'), 'NX');
  const secret = await client.get(key);
  if (!secret) throw new Error(`could not read ${key} from Redis`);
  return secret;
}
