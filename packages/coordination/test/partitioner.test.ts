import { waitFor } from '@flotilla/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  GroupMembership,
  MembershipWatcher,
  Partitioner,
  type Capabilities,
  type MembershipHandle,
} from '../src/index.js';
import { client, closeAll, subscriber, uniquePrefix } from './harness.js';

afterAll(closeAll);

const KEYS = Array.from({ length: 1000 }, (_, i) => `https://example.com/feed/${i}`);
const TIMING = { heartbeatMs: 100, ttlMs: 3000 };
const WORKER: Capabilities = { service: 'worker', version: 't', host: 'h', startedAt: '2026-01-01T00:00:00.000Z' };

interface Process {
  readonly id: string;
  readonly handle: MembershipHandle;
  readonly watcher: MembershipWatcher;
  readonly partitioner: Partitioner;
  readonly changes: (readonly string[])[];
}

/** One process of the fleet: its own connections, membership, watcher and partitioner. */
async function start(prefix: string, id: string, capabilities: Capabilities = WORKER): Promise<Process> {
  const membership = new GroupMembership(await client(), `${prefix}members:`);
  const handle = await membership.join('checkers', capabilities, { ...TIMING, id });
  const watcher = await MembershipWatcher.start(membership, 'checkers', {
    subscriber: await subscriber(),
    pollMs: 200,
  });
  const partitioner = new Partitioner(watcher, id);
  const changes: (readonly string[])[] = [];
  partitioner.on('change', (members) => changes.push(members));
  return { id, handle, watcher, partitioner, changes };
}

async function settled(processes: readonly Process[]): Promise<void> {
  const expected = processes.map((p) => p.id).sort();
  await waitFor(() => processes.every((p) => JSON.stringify(p.partitioner.members()) === JSON.stringify(expected)), {
    timeoutMs: 10_000,
    description: `every view to hold ${expected.join(', ')}`,
  });
}

async function stop(processes: readonly Process[]): Promise<void> {
  for (const p of processes) {
    p.partitioner.close();
    await p.watcher.close();
    await p.handle.leave();
  }
}

describe('Partitioner', () => {
  it('gives every key exactly one owner among the live members, and moves only the keys of one that leaves', async () => {
    const prefix = uniquePrefix();
    const processes = [await start(prefix, 'p1'), await start(prefix, 'p2'), await start(prefix, 'p3')];
    await settled(processes);

    const owners = new Map(KEYS.map((key) => [key, processes[0]?.partitioner.owner(key)]));
    for (const key of KEYS) {
      expect(processes.filter((p) => p.partitioner.owns(key))).toHaveLength(1);
      // Every process agrees on who owns what.
      for (const p of processes) expect(p.partitioner.owner(key)).toBe(owners.get(key));
    }
    const [p1, p2, p3] = processes as [Process, Process, Process];
    const p3Keys = p3.partitioner.ownedKeys(KEYS);
    expect(p3Keys.length).toBeGreaterThan(KEYS.length / 6);

    await p3.handle.leave();
    const live = [p1, p2];
    await settled(live);
    expect(p1.changes.at(-1)).toEqual(['p1', 'p2']);
    for (const key of KEYS) {
      expect(live.filter((p) => p.partitioner.owns(key))).toHaveLength(1);
      const now = p1.partitioner.owner(key);
      expect(p2.partitioner.owner(key)).toBe(now);
      if (owners.get(key) === 'p3') expect(['p1', 'p2']).toContain(now);
      else expect(now).toBe(owners.get(key));
    }
    expect(p1.partitioner.ownedKeys(KEYS).length + p2.partitioner.ownedKeys(KEYS).length).toBe(KEYS.length);
    await stop(processes);
  }, 60_000);

  it('gives a member its weight capability share of the keys', async () => {
    const prefix = uniquePrefix();
    const processes = [await start(prefix, 'small'), await start(prefix, 'big', { ...WORKER, weight: '3' })];
    await settled(processes);
    const [small, big] = processes as [Process, Process];
    const ratio = big.partitioner.ownedKeys(KEYS).length / small.partitioner.ownedKeys(KEYS).length;
    expect(ratio).toBeGreaterThan(2);
    expect(ratio).toBeLessThan(4);
    await stop(processes);
  }, 60_000);

  it('owns nothing while this process is not a live member', async () => {
    const prefix = uniquePrefix();
    const other = await start(prefix, 'other');
    const membership = new GroupMembership(await client(), `${prefix}members:`);
    const watcher = await MembershipWatcher.start(membership, 'checkers', {
      subscriber: await subscriber(),
      pollMs: 200,
    });
    const outsider = new Partitioner(watcher, 'outsider');
    expect(outsider.members()).toEqual(['other']);
    expect(outsider.ownedKeys(KEYS)).toEqual([]);
    expect(outsider.owner(KEYS[0] ?? '')).toBe('other');
    outsider.close();
    await watcher.close();
    await stop([other]);
  });
});
