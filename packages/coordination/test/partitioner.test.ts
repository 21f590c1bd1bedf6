import { waitFor } from '@flotilla/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { GroupMembership, MembershipWatcher, Partitioner, type MembershipHandle } from '../src/index.js';
import { client, closeAll, uniquePrefix } from './harness.js';

afterAll(closeAll);

const KEYS = Array.from({ length: 600 }, (_, i) => `key-${i}`);
const TIMING = { heartbeatMs: 200, ttlMs: 600 };

describe('Partitioner', () => {
  it('gives every key exactly one owner among the live members, and re-balances when one leaves', async () => {
    const prefix = uniquePrefix();
    const processes: { handle: MembershipHandle; partitioner: Partitioner; watcher: MembershipWatcher }[] = [];
    for (const id of ['p1', 'p2', 'p3']) {
      // Each "process" has its own connections, as separate processes would.
      const membership = new GroupMembership(await client(), `${prefix}members:`);
      const handle = await membership.join('checkers', { service: 'worker' }, { ...TIMING, id });
      const watcher = await MembershipWatcher.start(membership, 'checkers', { subscriber: await client('subscriber'), pollMs: 200 });
      processes.push({ handle, watcher, partitioner: new Partitioner(watcher, id) });
    }
    const settled = (n: number): boolean => processes.slice(0, n).every((p) => p.partitioner.members().length === n);
    await waitFor(() => settled(3), { timeoutMs: 5000, description: 'every view to hold three members' });

    const ownersOf = (live: typeof processes): number[] => KEYS.map((key) => live.filter((p) => p.partitioner.owns(key)).length);
    expect(ownersOf(processes).every((n) => n === 1)).toBe(true);
    const p3Keys = processes[2]?.partitioner.ownedKeys(KEYS) ?? [];
    expect(p3Keys.length).toBeGreaterThan(100);

    await processes[2]?.handle.leave();
    const live = processes.slice(0, 2);
    await waitFor(() => live.every((p) => p.partitioner.members().length === 2), { timeoutMs: 5000, description: 'the leave to reach both views' });
    expect(ownersOf(live).every((n) => n === 1)).toBe(true);
    // The keys p3 had are now shared by the others; nobody else's keys moved.
    for (const key of p3Keys) expect(['p1', 'p2']).toContain(live[0]?.partitioner.owner(key));
    for (const p of processes) await p.watcher.close();
    for (const p of live) await p.handle.leave();
  });
});
