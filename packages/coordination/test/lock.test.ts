import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@flotilla/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { DistributedLocks, LockLostError, LockTimeoutError } from '../src/index.js';
import { client, closeAll, exited, fixture, uniquePrefix } from './harness.js';

afterAll(closeAll);

async function locks(): Promise<{ locks: DistributedLocks; prefix: string }> {
  const prefix = uniquePrefix();
  return { locks: new DistributedLocks(await client(), `${prefix}lock:`), prefix };
}

describe('DistributedLocks', () => {
  it('hands out one holder at a time, with a fencing token that grows on every acquisition', async () => {
    const { locks: l } = await locks();
    const first = await l.acquire('report', { ttlMs: 10_000 });
    expect(await l.tryAcquire('report', { ttlMs: 10_000 })).toBeUndefined();
    expect(await first.release()).toBe(true);
    const second = await l.acquire('report', { ttlMs: 10_000 });
    expect(second.token).toBeGreaterThan(first.token);
    // Other names have locks (and tokens) of their own.
    const other = await l.acquire('other', { ttlMs: 10_000 });
    expect(other.token).toBe(1);
    await Promise.all([second.release(), other.release()]);
  });

  it('lets only the owner extend or release, even after its lease passed to someone else', async () => {
    const { locks: l } = await locks();
    const stale = await l.acquire('job', { ttlMs: 100 });
    await sleep(200);
    const current = await l.acquire('job', { ttlMs: 10_000 });
    await expect(stale.extend(10_000)).rejects.toBeInstanceOf(LockLostError);
    expect(await stale.release()).toBe(false);
    // The current holder is untouched by the stale one's attempts.
    expect(await l.tryAcquire('job', { ttlMs: 1000 })).toBeUndefined();
    await current.extend(10_000);
    expect(await current.release()).toBe(true);
    expect(await current.release()).toBe(false);
  });

  it('waits for a released lock, and gives up with LockTimeoutError after waitMs', async () => {
    const { locks: l } = await locks();
    const held = await l.acquire('w', { ttlMs: 30_000 });
    await expect(l.acquire('w', { ttlMs: 1000, waitMs: 150 })).rejects.toBeInstanceOf(LockTimeoutError);
    const waiting = l.acquire('w', { ttlMs: 1000, waitMs: 10_000 });
    await sleep(100);
    await held.release();
    expect((await waiting).token).toBe(held.token + 1);
  });

  it('withLock renews the lease while the function runs past the ttl, then releases', async () => {
    const { locks: l } = await locks();
    const result = await l.withLock(
      'long',
      async (signal, token) => {
        await sleep(900);
        expect(signal.aborted).toBe(false);
        // Three ttls later the lock is still this function's.
        expect(await l.tryAcquire('long', { ttlMs: 1000 })).toBeUndefined();
        return token;
      },
      { ttlMs: 300 },
    );
    expect(result).toBe(1);
    expect(await l.tryAcquire('long', { ttlMs: 1000 })).toBeDefined();
  });

  it('withLock aborts the signal with LockLostError when the lease is lost', async () => {
    const { locks: l, prefix } = await locks();
    const redis = await client();
    const reason = await l.withLock(
      'fragile',
      async (signal) => {
        // An operator (or an expiry during a long GC pause) frees the lease under the holder.
        await redis.del(`${prefix}lock:{fragile}`);
        await waitFor(() => signal.aborted, { timeoutMs: 5000, description: 'the lease-lost abort' });
        return signal.reason as unknown;
      },
      { ttlMs: 300 },
    );
    expect(reason).toBeInstanceOf(LockLostError);
  });

  it('rejects bad arguments with errors that name them', async () => {
    const { locks: l } = await locks();
    await expect(l.acquire('x', { ttlMs: 0 })).rejects.toThrow('ttlMs must be a positive integer');
    await expect(l.acquire('x', { ttlMs: 1.5 })).rejects.toThrow('ttlMs must be a positive integer');
    await expect(l.acquire('x', { ttlMs: 100, waitMs: -1 })).rejects.toThrow('waitMs must be a non-negative integer');
    await expect(l.acquire('', { ttlMs: 100 })).rejects.toThrow('lock name must be');
    await expect(l.acquire('a{b}', { ttlMs: 100 })).rejects.toThrow('lock name must be');
  });
});

describe('DistributedLocks across processes', () => {
  it('four processes taking one lock 25 times each never overlap, and tokens follow the order of the critical sections', async () => {
    const prefix = uniquePrefix();
    const contenders = Array.from({ length: 4 }, () => fixture('contend.mjs', [prefix, '25']));
    expect(await Promise.all(contenders.map(exited))).toEqual([0, 0, 0, 0]);
    const log = await (await client()).lrange(`${prefix}log`, 0, -1);
    expect(log).toHaveLength(4 * 25 * 2);
    let last = 0;
    for (let i = 0; i < log.length; i += 2) {
      const [start, token, pid] = (log[i] ?? '').split(' ');
      expect(start).toBe('start');
      // The very next entry is the same holder leaving: nobody else got in between.
      expect(log[i + 1]).toBe(`end ${token} ${pid}`);
      expect(Number(token)).toBeGreaterThan(last);
      last = Number(token);
    }
  }, 60_000);

  it('a holder killed with SIGKILL blocks the others only until its lease runs out', async () => {
    const prefix = uniquePrefix();
    let held: string | undefined;
    const holder = fixture('hold.mjs', [prefix, '1500'], (line) => (held = line));
    await waitFor(() => held, { timeoutMs: 10_000, description: 'the holder to take the lock' });
    holder.kill('SIGKILL');
    await exited(holder);
    const l = new DistributedLocks(await client(), `${prefix}lock:`);
    const next = await l.acquire('shared', { ttlMs: 1000, waitMs: 10_000 });
    expect(held).toBe('holding 1');
    expect(next.token).toBe(2);
  });
});
