import { waitFor } from '@flotilla/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { GroupMembership, MembershipWatcher, type Member } from '../src/index.js';
import { client, closeAll, exited, fixture, uniquePrefix } from './harness.js';

afterAll(closeAll);

const TIMING = { heartbeatMs: 200, ttlMs: 600 };

describe('GroupMembership', () => {
  it('lists the members that joined, with their capabilities, until they leave', async () => {
    const membership = new GroupMembership(await client(), `${uniquePrefix()}members:`);
    const a = await membership.join('workers', { service: 'worker', queues: 'default,cpu', concurrency: '20' }, { ...TIMING, id: 'a' });
    const b = await membership.join('workers', { service: 'worker' }, { ...TIMING, id: 'b' });
    await membership.join('web', { service: 'web' }, { ...TIMING, id: 'w' });
    const members = await membership.members('workers');
    expect(members.map((m) => m.id)).toEqual(['a', 'b']);
    expect(members[0]?.capabilities).toEqual({ service: 'worker', queues: 'default,cpu', concurrency: '20' });
    // Heartbeats keep a member in well past its ttl.
    await new Promise((resolve) => setTimeout(resolve, 3 * TIMING.ttlMs));
    expect((await membership.members('workers')).map((m) => m.id)).toEqual(['a', 'b']);
    await a.leave();
    expect((await membership.members('workers')).map((m) => m.id)).toEqual(['b']);
    await b.leave();
    expect(await membership.members('workers')).toEqual([]);
  });

  it('rejects a ttl shorter than two heartbeats and ids that cannot be keys', async () => {
    const membership = new GroupMembership(await client(), `${uniquePrefix()}members:`);
    await expect(membership.join('g', {}, { heartbeatMs: 500, ttlMs: 600 })).rejects.toThrow('at least twice heartbeatMs');
    await expect(membership.join('g', {}, { ...TIMING, id: 'has space' })).rejects.toThrow('member id must be');
  });

  it('a watcher sees joins and leaves, and a member killed with SIGKILL is gone within ttl + poll', async () => {
    const prefix = uniquePrefix();
    const membership = new GroupMembership(await client(), `${prefix}members:`);
    const watcher = await MembershipWatcher.start(membership, 'workers', { subscriber: await client('subscriber'), pollMs: 200 });
    const joined: Member[] = [];
    const left: string[] = [];
    watcher.on('join', (m) => joined.push(m));
    watcher.on('leave', (id) => left.push(id));

    const mine = await membership.join('workers', { service: 'test' }, { ...TIMING, id: 'in-test' });
    let ready = false;
    const child = fixture('member.mjs', [prefix, 'workers', 'child', String(TIMING.heartbeatMs), String(TIMING.ttlMs)], () => (ready = true));
    await waitFor(() => ready, { timeoutMs: 10_000, description: 'the child to join' });
    await waitFor(() => watcher.members().length === 2, { timeoutMs: 5000, description: 'both members in the view' });
    expect(joined.map((m) => m.id).sort()).toEqual(['child', 'in-test']);
    expect(watcher.members().find((m) => m.id === 'child')?.capabilities['service']).toBe('fixture');

    child.kill('SIGKILL');
    await exited(child);
    const killedAt = Date.now();
    await waitFor(() => left.includes('child'), { timeoutMs: 10_000, description: 'the killed member to leave the view' });
    // Bound: ttl + poll, with room for a loaded machine; the point is "bounded", not "fast".
    expect(Date.now() - killedAt).toBeLessThan(TIMING.ttlMs + 200 + 3000);
    expect(watcher.members().map((m) => m.id)).toEqual(['in-test']);

    await mine.leave();
    await waitFor(() => left.includes('in-test'), { timeoutMs: 5000, description: 'the explicit leave' });
    await watcher.close();
  });
});
