import type { EventEmitter } from 'node:events';
import type { RedisClient } from './redis-connection-options.js';
import { RedisNotReadyError } from './redis-not-ready-error.js';

/**
 * Resolves once the client is ready for commands; rejects with a {@link RedisNotReadyError}
 * after `timeoutMs`, carrying the last connection error (refused, TLS, auth …), or as soon as
 * the client is closed. The client keeps reconnecting either way.
 */
export async function waitForReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  if (client.status === 'end') throw new RedisNotReadyError('Redis client was closed before it became ready');
  const events: EventEmitter = client;
  await new Promise<void>((resolve, reject) => {
    let lastError: Error | undefined;
    const onError = (error: Error): void => {
      lastError = error;
    };
    const settle = (error?: RedisNotReadyError): void => {
      clearTimeout(timer);
      events.off('error', onError);
      events.off('ready', onReady);
      events.off('end', onEnd);
      if (error) reject(error);
      else resolve();
    };
    const onReady = (): void => settle();
    const onEnd = (): void =>
      settle(new RedisNotReadyError('Redis client was closed before it became ready', { cause: lastError }));
    const timer = setTimeout(() => {
      const reason = lastError ? `; last error: ${lastError.message}` : '';
      settle(new RedisNotReadyError(`Redis was not ready within ${timeoutMs} ms${reason}`, { cause: lastError }));
    }, timeoutMs);
    events.on('error', onError);
    events.once('ready', onReady);
    events.once('end', onEnd);
  });
}
