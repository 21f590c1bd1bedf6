import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '@flotilla/redis';
import { waitFor } from '@flotilla/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { DistributedLocks, LockLostError, LockTimeoutError } from '../src/index.js';
import { client, closeAll, uniquePrefix } from './harness.js';

afterAll(closeAll);

interface Setup {
  readonly locks: DistributedLocks;
  readonly prefix: string;
  readonly redis: RedisClient;
  /** The lease key of a lock name (the layout is the package's business; tests only peek). */
  readonly leaseKey: (name: string) => string;
}

async function setup(): Promise<Setup> {
  const prefix = `${uniquePrefix()}lock:`;
  const redis = await client();
  return { locks: new DistributedLocks(redis, prefix), prefix, redis, leaseKey: (name) => `${prefix}{${name}}` };
}

describe('DistributedLocks', () => {
  it('hands out one holder at a time, with a fencing token that grows on every acquisition', async () => {
    const { locks } = await setup();
    const tokens: number[] = [];
    for (let i = 0; i < 5; i++) {
      const lock = await locks.acquire('report', { ttlMs: 10_000 });
      expect(await locks.tryAcquire('report', { ttlMs: 10_000 })).toBeUndefined();
      tokens.push(lock.token);
      expect(await lock.release()).toBe(true);
    }
    expect(tokens).toEqual([1, 2, 3, 4, 5]);
    // Another name is another lock, with tokens of its own.
    const other = await locks.acquire('other', { ttlMs: 10_000 });
    expect(other.token).toBe(1);
    await other.release();
  });

  it('stores the lease with the ttl asked for, and only the owner can extend it', async () => {
    const { locks, redis, leaseKey } = await setup();
    const lock = await locks.acquire('job', { ttlMs: 2000 });
    expect(await redis.pttl(leaseKey('job'))).toBeGreaterThan(0);
    expect(await redis.pttl(leaseKey('job'))).toBeLessThanOrEqual(2000);
    await lock.extend(60_000);
    expect(await redis.pttl(leaseKey('job'))).toBeGreaterThan(2000);
    expect(lock.validUntil).toBeGreaterThan(Date.now() + 2000);
    await lock.release();
  });

  it('ignores a stale holder: after its lease passed on, it can neither extend nor release', async () => {
    const { locks, redis, leaseKey } = await setup();
    const stale = await locks.acquire('job', { ttlMs: 100 });
    await waitFor(async () => (await redis.exists(leaseKey('job'))) === 0, {
      description: 'the short lease to expire',
    });
    const current = await locks.acquire('job', { ttlMs: 30_000 });
    expect(current.token).toBe(stale.token + 1);

    await expect(stale.extend(30_000)).rejects.toBeInstanceOf(LockLostError);
    expect(await stale.release()).toBe(false);
    // The current holder's lease is untouched by the stale one's attempts.
    expect(await locks.tryAcquire('job', { ttlMs: 1000 })).toBeUndefined();
    expect(await redis.pttl(leaseKey('job'))).toBeGreaterThan(20_000);

    expect(await current.release()).toBe(true);
    expect(await current.release()).toBe(false);
    const error = await current.extend(1000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockLostError);
    expect(error).toMatchObject({ lockName: 'job', token: current.token });
  });

  it('waits for a held lock until it is released, and gives up with LockTimeoutError after waitMs', async () => {
    const { locks } = await setup();
    const held = await locks.acquire('w', { ttlMs: 30_000 });
    const timedOut = await locks.acquire('w', { ttlMs: 1000, waitMs: 150 }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(LockTimeoutError);
    expect(timedOut).toMatchObject({ lockName: 'w', waitedMs: 150 });
    await expect(locks.acquire('w', { ttlMs: 1000 })).rejects.toBeInstanceOf(LockTimeoutError);

    let got = false;
    const waiting = locks.acquire('w', { ttlMs: 1000, waitMs: 20_000 }).then((lock) => {
      got = true;
      return lock;
    });
    await sleep(300);
    expect(got).toBe(false);
    await held.release();
    const next = await waiting;
    // Failed attempts draw no token: the next one is the very next number.
    expect(next.token).toBe(held.token + 1);
    await next.release();
  });

  it('withLock renews the lease while the function runs for several ttls, then releases', async () => {
    const { locks, redis, leaseKey } = await setup();
    const ttlMs = 1200;
    const result = await locks.withLock(
      'long',
      async (signal, token) => {
        // Sample the lease across 3 ttls: a lease that was not renewed would be gone after one.
        for (let i = 0; i < 6; i++) {
          await sleep(ttlMs / 2);
          expect(await redis.pttl(leaseKey('long'))).toBeGreaterThan(0);
        }
        expect(signal.aborted).toBe(false);
        expect(await locks.tryAcquire('long', { ttlMs: 1000 })).toBeUndefined();
        return `done with token ${token}`;
      },
      { ttlMs },
    );
    expect(result).toBe('done with token 1');
    expect(await redis.exists(leaseKey('long'))).toBe(0);
  });

  it('withLock aborts the signal with LockLostError when the lease is lost, and leaves the next holder alone', async () => {
    const { locks, prefix, redis, leaseKey } = await setup();
    const thief = new DistributedLocks(await client(), prefix);
    let successor: number | undefined;
    const reason = await locks.withLock(
      'fragile',
      async (signal) => {
        // An operator, or an expiry during a long pause, frees the lease under the holder,
        // and another process takes it.
        await redis.del(leaseKey('fragile'));
        successor = (await thief.acquire('fragile', { ttlMs: 30_000 })).token;
        await waitFor(() => signal.aborted, { timeoutMs: 10_000, description: 'the lease-lost abort' });
        return signal.reason as unknown;
      },
      { ttlMs: 600 },
    );
    expect(reason).toBeInstanceOf(LockLostError);
    expect(reason).toMatchObject({ lockName: 'fragile', token: 1 });
    expect(successor).toBe(2);
    // withLock's final release did not free the successor's lease.
    expect(await redis.pttl(leaseKey('fragile'))).toBeGreaterThan(20_000);
  });

  it('withLock aborts the signal once the lease runs out while Redis cannot be reached to renew it', async () => {
    const { locks, redis } = await setup();
    let lostAfterMs = 0;
    const reason = await locks.withLock(
      'unreachable',
      async (signal) => {
        const cutAt = Date.now();
        redis.disconnect();
        await waitFor(() => signal.aborted, { timeoutMs: 10_000, description: 'the abort at the end of the lease' });
        lostAfterMs = Date.now() - cutAt;
        return signal.reason as unknown;
      },
      { ttlMs: 3000 },
    );
    expect(reason).toBeInstanceOf(LockLostError);
    expect((reason as LockLostError).cause).toBeInstanceOf(Error);
    // The failed renewal at a third of the ttl did not abort it: the lease was given the rest of its time.
    expect(lostAfterMs).toBeGreaterThan(1500);
  });

  it('withLock releases the lock when the function throws, and passes the error on', async () => {
    const { locks, redis, leaseKey } = await setup();
    const failure = new Error('handler failed');
    await expect(
      locks.withLock(
        'failing',
        async () => {
          expect(await redis.exists(leaseKey('failing'))).toBe(1);
          throw failure;
        },
        { ttlMs: 30_000 },
      ),
    ).rejects.toBe(failure);
    expect(await redis.exists(leaseKey('failing'))).toBe(0);
  });

  it('rejects bad arguments with errors that name them', async () => {
    const { locks, redis } = await setup();
    await expect(locks.acquire('x', { ttlMs: 0 })).rejects.toThrow('ttlMs must be a positive integer of milliseconds');
    await expect(locks.tryAcquire('x', { ttlMs: 1.5 })).rejects.toThrow(
      'ttlMs must be a positive integer of milliseconds',
    );
    await expect(locks.acquire('x', { ttlMs: Number.NaN })).rejects.toThrow(RangeError);
    await expect(locks.acquire('x', { ttlMs: '100' as unknown as number })).rejects.toThrow('got "100"');
    await expect(locks.acquire('x', { ttlMs: 100, waitMs: -1 })).rejects.toThrow(
      'waitMs must be a non-negative integer of milliseconds',
    );
    await expect(locks.acquire('', { ttlMs: 100 })).rejects.toThrow('lock name must be 1 to 200 characters');
    await expect(locks.acquire('a{b}', { ttlMs: 100 })).rejects.toThrow('without whitespace or braces');
    await expect(locks.acquire('x', undefined as unknown as { ttlMs: number })).rejects.toThrow(
      'lock options must be an object',
    );
    await expect(locks.withLock('x', async () => {}, { ttlMs: 300, renewEveryMs: 300 })).rejects.toThrow(
      'renewEveryMs (300) must be less than ttlMs (300)',
    );
    await expect(locks.withLock('x', undefined as unknown as () => Promise<void>, { ttlMs: 300 })).rejects.toThrow(
      'withLock needs a function',
    );
    const held = await locks.acquire('x', { ttlMs: 1000 });
    await expect(held.extend(-5)).rejects.toThrow('ttlMs must be a positive integer');
    expect(await held.release()).toBe(true);
    expect(() => new DistributedLocks(redis, '{bad}')).toThrow('DistributedLocks prefix must be');
    expect(() => new DistributedLocks(undefined as unknown as RedisClient, 'p:')).toThrow(
      'DistributedLocks redis must be an ioredis connection',
    );
  });
});
