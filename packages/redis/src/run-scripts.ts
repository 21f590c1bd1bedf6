import keySlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import type { LuaScript, ScriptArgument } from './lua-script.js';
import type { RedisClient } from './redis-connection-options.js';

/** One call for {@link runScripts}. */
export interface ScriptCall {
  readonly script: LuaScript;
  /** At least one; all in one Cluster slot, as for any script. */
  readonly keys: readonly string[];
  readonly args: readonly ScriptArgument[];
}

// Replies that mean the script did not run, so running it again alone is safe: not loaded on
// that node, or its slot is served elsewhere (ioredis follows redirections for single commands).
const RUN_ALONE = /^(NOSCRIPT|MOVED|ASK|TRYAGAIN) /;

/**
 * Runs script calls whose keys lie in different slots: one pipeline per Redis node, all
 * pipelines at once, so the calls cost one round trip per node however many there are. The
 * replies come back in the order of the calls; the first error is thrown once all have
 * answered (the other calls have run: callers decide what a partial outcome means). One call
 * is simply run. On a Cluster the node of a slot is read from the client's slot map; a call
 * that a stale map sent to the wrong node, or that found its script missing, is run again
 * alone.
 */
export async function runScripts(client: RedisClient, calls: readonly ScriptCall[]): Promise<unknown[]> {
  if (calls.length === 0) return [];
  const [first] = calls;
  if (calls.length === 1 && first) return [await first.script.run(client, first.keys, first.args)];
  const byNode = new Map<string, { call: ScriptCall; index: number }[]>();
  calls.forEach((call, index) => {
    const node = nodeOf(client, call.keys);
    const list = byNode.get(node);
    if (list) list.push({ call, index });
    else byNode.set(node, [{ call, index }]);
  });
  const replies = new Array<unknown>(calls.length);
  const errors: unknown[] = [];
  await Promise.all(
    [...byNode.values()].map(async (batch) => {
      const pipeline = client.pipeline();
      for (const { call } of batch) call.script.queue(pipeline, call.keys, call.args);
      const results = (await pipeline.exec()) ?? [];
      await Promise.all(
        batch.map(async ({ call, index }, j) => {
          const [error, reply] = results[j] ?? [new Error('no reply in pipeline'), undefined];
          try {
            if (!error) replies[index] = reply;
            else if (RUN_ALONE.test(error.message))
              replies[index] = await call.script.run(client, call.keys, call.args);
            else throw error;
          } catch (failure) {
            errors.push(failure);
          }
        }),
      );
    }),
  );
  if (errors.length) throw errors[0];
  return replies;
}

// Calls for one standalone server all share its pipeline; on a Cluster, slots served by the
// same master (the same node list in the client's slot map, as ioredis checks for pipelines).
function nodeOf(client: RedisClient, keys: readonly string[]): string {
  if (!client.isCluster) return '';
  const slot = keySlot(keys[0] ?? '');
  return (client as Cluster).slots[slot]?.join(',') ?? `slot ${slot}`;
}
