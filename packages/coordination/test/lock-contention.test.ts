import type { ChildProcess } from 'node:child_process';
import { waitFor } from '@flotilla/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { client, closeAll, exited, fixture, uniquePrefix } from './harness.js';

afterAll(closeAll);

interface Section {
  readonly token: number;
  readonly pid: string;
  readonly startedAt: number;
}

/**
 * Checks a contention log (see fixtures/contend.mjs) and returns its critical sections in order:
 * every start is followed directly by the end of the same holder, so no two sections overlapped,
 * and tokens grow strictly in the order the sections happened.
 */
function criticalSections(log: readonly string[]): Section[] {
  expect(log.length % 2).toBe(0);
  const sections: Section[] = [];
  for (let i = 0; i < log.length; i += 2) {
    const [kind, token, pid, at] = (log[i] ?? '').split(' ');
    expect(kind).toBe('start');
    expect((log[i + 1] ?? '').split(' ').slice(0, 3)).toEqual(['end', token, pid]);
    const previous = sections.at(-1);
    if (previous) expect(Number(token)).toBeGreaterThan(previous.token);
    sections.push({ token: Number(token), pid: pid ?? '', startedAt: Number(at) });
  }
  return sections;
}

/** What fixtures/hold.mjs prints once it holds the lock. */
interface Held {
  readonly token: number;
  /** Date.now() before the acquisition request was sent. */
  readonly before: number;
}

function count<T>(values: readonly T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/** Starts `n` contenders (fixtures/contend.mjs), and lets them go together once all are connected. */
async function startContenders(prefix: string, n: number, rounds: number): Promise<ChildProcess[]> {
  let ready = 0;
  const contenders = Array.from({ length: n }, () =>
    fixture('contend.mjs', [prefix, String(rounds), '15000'], (line) => (ready += line === 'ready' ? 1 : 0)),
  );
  await waitFor(() => ready === n, { timeoutMs: 30_000, description: `${n} contenders to connect` });
  await (await client()).set(`${prefix}go`, '1');
  return contenders;
}

describe('DistributedLocks across processes', () => {
  it('four processes taking one lock 25 times each never overlap, and tokens follow the order of the critical sections', async () => {
    const prefix = uniquePrefix();
    const redis = await client();
    const contenders = await startContenders(prefix, 4, 25);
    expect(await Promise.all(contenders.map(exited))).toEqual([0, 0, 0, 0]);

    const sections = criticalSections(await redis.lrange(`${prefix}log`, 0, -1));
    expect(sections).toHaveLength(100);
    expect([...count(sections.map((s) => s.pid)).values()]).toEqual([25, 25, 25, 25]);
    expect(sections.map((s) => s.token)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    // Every read-then-write increment survived: no two holders interleaved their updates.
    expect(await redis.get(`${prefix}counter`)).toBe('100');
    // The processes really competed: the lock changed hands far more often than running one after another (3 times).
    const handovers = sections.filter((s, i) => i > 0 && s.pid !== sections[i - 1]?.pid).length;
    expect(handovers).toBeGreaterThan(10);
  }, 120_000);

  it('a holder killed with SIGKILL blocks the others only until its lease runs out', async () => {
    const prefix = uniquePrefix();
    const leaseMs = 4000;
    let onHeld: (held: Held) => void = () => {};
    const held = new Promise<Held>((resolve) => (onHeld = resolve));
    const holder = fixture('hold.mjs', [prefix, String(leaseMs)], (line) => onHeld(JSON.parse(line) as Held));
    const { token, before } = await Promise.race([
      held,
      exited(holder).then((how) => Promise.reject(new Error(`the holder exited (${how}) before taking the lock`))),
    ]);
    holder.kill('SIGKILL');
    expect(await exited(holder)).toBe('SIGKILL');
    // The dead process still holds the lock: only its lease can free it.
    const redis = await client();
    expect(await redis.pttl(`${prefix}lock:{shared}`)).toBeGreaterThan(0);

    const contenders = await startContenders(prefix, 3, 5);
    expect(await Promise.all(contenders.map(exited))).toEqual([0, 0, 0]);
    const sections = criticalSections(await redis.lrange(`${prefix}log`, 0, -1));
    expect(sections).toHaveLength(15);
    expect(sections[0]?.token).toBe(token + 1);
    // Nobody got in while the dead holder's lease lasted (a few ms of slack for clock rounding).
    expect(sections[0]?.startedAt).toBeGreaterThanOrEqual(before + leaseMs - 5);
  }, 120_000);
});
