import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@flotilla/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import type { SharedSubscriber } from '@flotilla/redis';
import {
  GroupMembership,
  MembershipWatcher,
  processCapabilities,
  type Capabilities,
  type Member,
} from '../src/index.js';
import { client, closeAll, exited, fixture, subscriber, uniquePrefix } from './harness.js';

afterAll(closeAll);

// Generous against a loaded machine: a member must miss more than a second of heartbeats to drop out.
const TIMING = { heartbeatMs: 100, ttlMs: 1500 };
const POLL_MS = 200;

function capabilities(service: string, extra: Record<string, string> = {}): Capabilities {
  return { service, version: '1.2.3', host: 'host-a', startedAt: '2026-01-01T00:00:00.000Z', ...extra };
}

const ids = (members: readonly Member[]): string[] => members.map((m) => m.id);

describe('GroupMembership', () => {
  it('lists the members that joined, with their capabilities, and keeps them while they heartbeat', async () => {
    const membership = new GroupMembership(await client(), `${uniquePrefix()}members:`);
    const full = capabilities('worker', {
      queues: 'default,cpu',
      concurrency: 'default:20,cpu:2',
      weight: '2',
      region: 'eu-west1',
    });
    const a = await membership.join('workers', full, { ...TIMING, id: 'a' });
    const b = await membership.join('workers', processCapabilities('worker', 'abc123'), { ...TIMING, id: 'b' });
    await membership.join('web', capabilities('web'), { ...TIMING, id: 'w' });

    const members = await membership.members('workers');
    expect(ids(members)).toEqual(['a', 'b']);
    expect(members[0]?.capabilities).toEqual(full);
    expect(members[1]?.capabilities).toMatchObject({ service: 'worker', version: 'abc123', pid: String(process.pid) });
    expect(members[0]?.expiresAt).toBeGreaterThan(Date.now());
    expect(ids(await membership.members('web'))).toEqual(['w']);

    // Well past two ttls, heartbeats have kept both in.
    await sleep(2 * TIMING.ttlMs + 500);
    expect(ids(await membership.members('workers'))).toEqual(['a', 'b']);
    await a.leave();
    expect(ids(await membership.members('workers'))).toEqual(['b']);
    await b.leave();
    await b.leave();
    expect(await membership.members('workers')).toEqual([]);
  });

  it('stays gone after leave(): no late heartbeat brings the member back', async () => {
    const redis = await client();
    const membership = new GroupMembership(redis, `${uniquePrefix()}members:`);
    const member = await membership.join('g', capabilities('worker'), { heartbeatMs: 10, ttlMs: 5000 });
    await sleep(100);
    await member.leave();
    await sleep(200);
    expect(await membership.members('g')).toEqual([]);
    const keys = membership.keys('g');
    expect(await redis.zscore(keys.expiries, member.id)).toBeNull();
    expect(await redis.hexists(keys.capabilities, member.id)).toBe(0);
  });

  it('leaves out members whose ttl has passed, and prunes them from Redis', async () => {
    const redis = await client();
    const membership = new GroupMembership(redis, `${uniquePrefix()}members:`);
    await membership.join('g', capabilities('worker'), { ...TIMING, id: 'alive' });
    // A member that stopped heartbeating a minute ago, as a SIGKILLed process leaves it.
    const keys = membership.keys('g');
    await redis.zadd(keys.expiries, Date.now() - 60_000, 'dead');
    await redis.hset(keys.capabilities, 'dead', JSON.stringify(capabilities('worker')));

    expect(ids(await membership.members('g'))).toEqual(['alive']);
    expect(await redis.zscore(keys.expiries, 'dead')).toBeNull();
    expect(await redis.hexists(keys.capabilities, 'dead')).toBe(0);
  });

  it('rejects bad timing, ids and capabilities with errors that name them', async () => {
    const redis = await client();
    const membership = new GroupMembership(redis, `${uniquePrefix()}members:`);
    const ok = capabilities('worker');
    await expect(membership.join('g', ok, { heartbeatMs: 500, ttlMs: 600 })).rejects.toThrow(
      'ttlMs (600) must be at least twice heartbeatMs (500)',
    );
    await expect(membership.join('g', ok, { heartbeatMs: 0, ttlMs: 600 })).rejects.toThrow(
      'heartbeatMs must be a positive integer of milliseconds',
    );
    await expect(membership.join('g', ok, { ...TIMING, id: 'has space' })).rejects.toThrow('member id must be');
    await expect(membership.join('', ok, TIMING)).rejects.toThrow('group must be');
    await expect(membership.join('g', { ...ok, host: '' }, TIMING)).rejects.toThrow(
      'capabilities.host must be a non-empty string',
    );
    await expect(membership.join('g', { ...ok, concurrency: 4 } as unknown as Capabilities, TIMING)).rejects.toThrow(
      'capabilities.concurrency must be a string',
    );
    await expect(membership.join('g', { ...ok, weight: '1.5' }, TIMING)).rejects.toThrow(
      'capabilities.weight must be a positive integer',
    );
    const shared = await subscriber();
    await expect(MembershipWatcher.start(membership, 'g', { subscriber: shared, pollMs: -1 })).rejects.toThrow(
      'pollMs must be',
    );
    const raw = await client('subscriber');
    await expect(
      MembershipWatcher.start(membership, 'g', { subscriber: raw as unknown as SharedSubscriber, pollMs: 100 }),
    ).rejects.toThrow('watch subscriber must be a SharedSubscriber');
    // Refused before subscribing anything.
    expect(shared.channels()).toEqual([]);
    expect(() => new GroupMembership(redis, 'a b')).toThrow('GroupMembership prefix must be');
    expect(await membership.members('g')).toEqual([]);
  });

  it('reads a capabilities function at every heartbeat, and beats on with the last valid ones while it fails', async () => {
    const membership = new GroupMembership(await client(), `${uniquePrefix()}members:`);
    let mode: 'ok' | 'throw' | 'invalid' = 'ok';
    let lastGood = 0;
    const errors: Error[] = [];
    const report = (): Capabilities => {
      if (mode === 'throw') throw new Error('no reading today');
      if (mode === 'invalid') return capabilities('');
      lastGood += 1;
      return capabilities('worker', { reading: String(lastGood) });
    };
    const member = await membership.join('g', report, { ...TIMING, onError: (error) => errors.push(error) });
    const current = async (): Promise<Member> => {
      const [only, ...others] = await membership.members('g');
      if (!only || others.length > 0) throw new Error('expected exactly one member');
      return only;
    };
    expect((await current()).capabilities['reading']).toBe('1');
    await waitFor(async () => Number((await current()).capabilities['reading']) >= 3, {
      description: 'later readings in Redis',
    });

    mode = 'throw';
    await waitFor(() => errors.length > 0, { description: 'the failing reading to be reported' });
    const stale = await current();
    expect(stale.capabilities['reading']).toBe(String(lastGood));
    // The lease is still renewed, with the last valid capabilities.
    await waitFor(async () => (await current()).expiresAt > stale.expiresAt, {
      description: 'a heartbeat while the function throws',
    });
    expect((await current()).capabilities).toEqual(stale.capabilities);
    expect(errors[0]?.message).toBe('no reading today');

    mode = 'invalid';
    await waitFor(() => errors.some((e) => e.message === 'member capabilities.service must be a non-empty string'), {
      description: 'the invalid reading to be reported',
    });
    expect((await current()).capabilities).toEqual(stale.capabilities);

    mode = 'ok';
    await waitFor(
      async () => Number((await current()).capabilities['reading']) > Number(stale.capabilities['reading']),
      { description: 'readings to resume' },
    );
    await member.leave();
    expect(await membership.members('g')).toEqual([]);
  });

  it('refuses the join when the capabilities function throws at once, and records nothing', async () => {
    const membership = new GroupMembership(await client(), `${uniquePrefix()}members:`);
    const broken = (): Capabilities => {
      throw new Error('not ready to report');
    };
    await expect(membership.join('g', broken, TIMING)).rejects.toThrow('not ready to report');
    await expect(membership.join('g', () => capabilities('worker', { weight: '0' }), TIMING)).rejects.toThrow(
      'capabilities.weight must be a positive integer',
    );
    expect(await membership.members('g')).toEqual([]);
  });
});

describe('MembershipWatcher', () => {
  it('sees joins and explicit leaves, and a member killed with SIGKILL is gone within ttl + poll', async () => {
    const prefix = uniquePrefix();
    const membership = new GroupMembership(await client(), `${prefix}members:`);
    const watcher = await MembershipWatcher.start(membership, 'workers', {
      subscriber: await subscriber(),
      pollMs: POLL_MS,
    });
    const joined: string[] = [];
    const left: string[] = [];
    const changes: string[][] = [];
    watcher.on('join', (m) => joined.push(m.id));
    watcher.on('leave', (m) => left.push(m.id));
    watcher.on('change', (members) => changes.push(ids(members)));

    const mine = await membership.join('workers', capabilities('test'), { ...TIMING, id: 'in-test' });
    let ready = false;
    const child = fixture(
      'member.mjs',
      [prefix, 'workers', 'child', String(TIMING.heartbeatMs), String(TIMING.ttlMs)],
      () => (ready = true),
    );
    await waitFor(() => ready, { timeoutMs: 20_000, description: 'the child to join' });
    await waitFor(() => watcher.members().length === 2, { timeoutMs: 10_000, description: 'both members in the view' });
    expect(joined.sort()).toEqual(['child', 'in-test']);
    expect(watcher.members().find((m) => m.id === 'child')?.capabilities).toMatchObject({
      service: 'fixture',
      pid: String(child.pid),
    });
    expect(changes.at(-1)).toEqual(['child', 'in-test']);

    child.kill('SIGKILL');
    await exited(child);
    const killedAt = Date.now();
    // The bound the package promises is ttlMs + pollMs; the extra seconds are room for a loaded
    // machine, the point being "bounded", not "fast".
    const bound = TIMING.ttlMs + POLL_MS + 5000;
    await waitFor(async () => !ids(await membership.members('workers')).includes('child'), {
      timeoutMs: bound,
      description: 'the killed member to leave members()',
    });
    await waitFor(() => left.includes('child'), {
      timeoutMs: bound,
      description: 'the killed member to leave the view',
    });
    expect(Date.now() - killedAt).toBeLessThan(bound);
    expect(ids(watcher.members())).toEqual(['in-test']);

    await mine.leave();
    await waitFor(() => left.includes('in-test'), { timeoutMs: 5000, description: 'the explicit leave' });
    expect(changes.at(-1)).toEqual([]);
    await watcher.close();
    await watcher.close();
  }, 60_000);

  it('hears an explicit leave at once rather than at the next poll', async () => {
    const prefix = uniquePrefix();
    const membership = new GroupMembership(await client(), `${prefix}members:`);
    const member = await membership.join('g', capabilities('worker'), TIMING);
    // A poll so slow that only the announcement can explain a prompt update.
    const watcher = await MembershipWatcher.start(membership, 'g', { subscriber: await subscriber(), pollMs: 600_000 });
    expect(ids(watcher.members())).toEqual([member.id]);
    const left = new Promise<Member>((resolve) => watcher.once('leave', resolve));
    await member.leave();
    expect((await left).id).toBe(member.id);
    expect(watcher.members()).toEqual([]);
    await watcher.close();
  });
});
