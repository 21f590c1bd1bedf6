import { waitFor } from '@flotilla/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from './harness.js';

let harness = new Harness();
afterEach(async () => {
  await harness.closeAll();
  harness = new Harness();
});

// Every instance below has its own command and pub/sub connections, as separate processes do,
// and waits up to 20 s for acknowledgements: a missing acknowledgement would fail the test by
// time-out rather than pass by luck.
describe('coherence across instances', () => {
  it('after delete resolves, no other instance serves the old value from L1', async () => {
    const a = await harness.instance();
    const b = await harness.instance();
    await a.cache.set('page', 'v1');
    await b.cache.get('page');
    expect(b.cache.peek('page')?.value).toBe('v1');

    await a.cache.delete('page');
    expect(b.cache.peek('page')).toBeUndefined();
    expect(await b.cache.get('page')).toBeUndefined();
    // The set and the delete.
    expect(b.cache.stats().invalidationsReceived).toBe(2);
    expect(a.cache.stats()).toMatchObject({ invalidations: 1, ackTimeouts: 0 });
  });

  it('after set resolves, no other instance serves the previous value, over many rounds and three instances', async () => {
    const [a, b, c] = await Promise.all([harness.instance(), harness.instance(), harness.instance()]);
    for (let round = 0; round < 25; round++) {
      const writer = [a, b, c][round % 3]!;
      await writer.cache.set('counter', round);
      await Promise.all([a, b, c].map((instance) => instance.cache.get('counter')));
      await writer.cache.set('counter', round + 1);
      for (const instance of [a, b, c]) {
        const seen = instance.cache.peek('counter');
        if (seen !== undefined) expect(seen.value).toBe(round + 1);
      }
    }
    expect((await b.cache.get('counter'))?.value).toBe(25);
    expect(a.cache.stats().ackTimeouts + b.cache.stats().ackTimeouts + c.cache.stats().ackTimeouts).toBe(0);
  });

  it('after invalidateTags resolves, other instances drop exactly the entries carrying the tag', async () => {
    const a = await harness.instance();
    const b = await harness.instance();
    await a.cache.setMany([
      { key: 'red-page', value: 1, options: { tags: ['red', 'shared'] } },
      { key: 'blue-page', value: 2, options: { tags: ['blue', 'shared'] } },
    ]);
    await b.cache.getMany(['red-page', 'blue-page']);

    await a.cache.invalidateTags(['red']);
    expect(b.cache.peek('red-page')).toBeUndefined();
    expect(b.cache.peek('blue-page')?.value).toBe(2);
    expect(await b.cache.get('red-page')).toBeUndefined();
    expect(a.cache.peek('red-page')).toBeUndefined();

    await b.cache.invalidateTags(['shared']);
    expect(a.cache.peek('blue-page')).toBeUndefined();
    expect(await a.cache.get('blue-page')).toBeUndefined();
  });

  it('stops waiting for a peer that cannot acknowledge after ackTimeoutMs and counts it', async () => {
    const a = await harness.instance({ ackTimeoutMs: 200 });
    const mute = await harness.instance();
    await a.cache.set('k', 1);
    expect(a.cache.stats().ackTimeouts).toBe(0);
    // Its subscription still receives, but its acknowledgements have no connection to go out on.
    mute.redis.disconnect();

    await a.cache.delete('k');
    expect(a.cache.stats().ackTimeouts).toBe(1);
    expect(mute.cache.stats().invalidationsReceived).toBe(2);
  });

  it('drops and bypasses L1 while its subscription is down, and resumes once resubscribed', async () => {
    const a = await harness.instance();
    const b = await harness.instance();
    await a.cache.set('k', 'v1');
    await b.cache.get('k');
    expect(b.cache.peek('k')?.value).toBe('v1');

    b.subscriber.disconnect();
    await waitFor(() => !b.cache.l1Active);
    expect(b.cache.peek('k')).toBeUndefined();
    expect(await b.cache.get('k')).toMatchObject({ value: 'v1', tier: 'l2' });
    expect(b.cache.peek('k')).toBeUndefined();

    // b cannot hear this; it must not matter.
    await a.cache.set('k', 'v2');
    await b.subscriber.connect();
    await waitFor(() => b.cache.l1Active);
    expect(await b.cache.get('k')).toMatchObject({ value: 'v2', tier: 'l2' });
    expect(b.cache.peek('k')?.value).toBe('v2');

    await a.cache.delete('k');
    expect(b.cache.peek('k')).toBeUndefined();
  });

  it('recovers from a killed subscriber connection', async () => {
    const a = await harness.instance();
    const b = await harness.instance();
    await a.cache.set('k', 'v1');
    await b.cache.get('k');

    const admin = await harness.client();
    const list = String(await admin.client('LIST'));
    const id = new RegExp(`\\bid=(\\d+)\\b[^\\n]*\\bname=${b.subscriberName}\\b`).exec(list)?.[1];
    expect(id).toBeDefined();
    await admin.client('KILL', 'ID', id!);

    await waitFor(() => b.cache.peek('k') === undefined);
    await waitFor(() => b.cache.l1Active, { timeoutMs: 10_000 });
    await waitFor(async () => (await b.cache.get('k')) && b.cache.peek('k')?.value === 'v1');
    await a.cache.set('k', 'v2');
    expect(b.cache.peek('k')).toBeUndefined();
    expect((await b.cache.get('k'))?.value).toBe('v2');
  });
});
