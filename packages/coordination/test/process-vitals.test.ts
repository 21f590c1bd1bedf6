import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { GroupMembership, ProcessVitals, processCapabilities, type VitalCapabilities } from '../src/index.js';
import { client, closeAll, uniquePrefix } from './harness.js';

afterAll(closeAll);

/** Keeps the event loop from running anything else for `ms`, as a long synchronous task does. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Spinning is the point.
  }
}

const numbers = (vitals: VitalCapabilities): { utilization: number; delayMs: number } => {
  expect(vitals.eventLoopUtilization).toMatch(/^\d\.\d{3}$/);
  expect(vitals.eventLoopDelayMaxMs).toMatch(/^\d+\.\d$/);
  return { utilization: Number(vitals.eventLoopUtilization), delayMs: Number(vitals.eventLoopDelayMaxMs) };
};

describe('ProcessVitals', () => {
  it('reports a loop that was blocked as busy and late, and each read covers only its own interval', async () => {
    const vitals = ProcessVitals.start();
    try {
      await sleep(50);
      vitals.read();
      // Longer than the sampling period, so a sample falls due during it.
      block(800);
      await sleep(30);
      const busy = numbers(vitals.read());
      // A timer due during the block ran at least that much late; the bound can only err upwards.
      expect(busy.delayMs).toBeGreaterThanOrEqual(250);

      await sleep(600);
      const idle = numbers(vitals.read());
      expect(idle.delayMs).toBeLessThan(busy.delayMs);
      expect(idle.utilization).toBeLessThan(busy.utilization);
      expect(idle.utilization).toBeGreaterThanOrEqual(0);
      expect(busy.utilization).toBeLessThanOrEqual(1);
    } finally {
      vitals.stop();
    }
  });

  it('counts a loop stalled for a whole interval as late by about that interval', async () => {
    const vitals = ProcessVitals.start();
    try {
      await sleep(30);
      vitals.read();
      // No sample can be taken in between: the block starts right after the read.
      block(800);
      expect(numbers(vitals.read()).delayMs).toBeGreaterThanOrEqual(250);
    } finally {
      vitals.stop();
    }
  });

  it('stops: a later read throws, and stopping twice is harmless', () => {
    const vitals = ProcessVitals.start();
    vitals.stop();
    vitals.stop();
    expect(() => vitals.read()).toThrow('process vitals were read after stop()');
  });

  it('reaches the fleet through a capabilities function', async () => {
    const vitals = ProcessVitals.start();
    const membership = new GroupMembership(await client(), `${uniquePrefix()}members:`);
    const base = processCapabilities('worker', 'abc123');
    const member = await membership.join('g', () => ({ ...base, ...vitals.read() }), { heartbeatMs: 100, ttlMs: 1500 });
    try {
      const [seen] = await membership.members('g');
      expect(seen?.capabilities).toMatchObject({ service: 'worker', version: 'abc123' });
      expect(Number(seen?.capabilities.eventLoopUtilization)).toBeGreaterThanOrEqual(0);
      expect(Number(seen?.capabilities.eventLoopDelayMaxMs)).toBeGreaterThanOrEqual(0);
    } finally {
      await member.leave();
      vitals.stop();
    }
  });
});
