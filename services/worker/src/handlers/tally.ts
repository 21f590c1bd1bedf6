import { setTimeout as wait } from 'node:timers/promises';
import { tallyJob } from '@flotilla/jobs';
import { defineHandler, type BoundHandler } from '@flotilla/queue';
import { LuaScript, type RedisClient } from '@flotilla/redis';

// One script, so a run is counted and its effect applied together or not at all: the set of
// applied job ids is what makes a second run of the same job change nothing.
const APPLY = new LuaScript(`
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local applied = redis.call('SADD', KEYS[2], ARGV[1])
if applied == 1 then redis.call('INCRBY', KEYS[3], ARGV[2]) end
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[3]) end
return applied
`);

// A tally's keys outlive its last job by a week, the retention of failed jobs.
const TALLY_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Redis keys of a tally under the data prefix; the {name} hash tag keeps them in one cluster slot:
 * `tally:{name}:runs` (hash: job id → runs), `:applied` (set of job ids), `:total` (the sum).
 */
export function tallyKeys(prefix: string, name: string): readonly [runs: string, applied: string, total: string] {
  const base = `${prefix}tally:{${name}}:`;
  return [`${base}runs`, `${base}applied`, `${base}total`];
}

/** Applies a tally job's amount once per job id and counts each run of it. */
export function tallyHandler(redis: RedisClient, prefix: string): BoundHandler {
  return defineHandler(tallyJob, async ({ tally, amount, workMs }, context) => {
    if (workMs > 0) await wait(workMs, undefined, { signal: context.signal });
    const applied = await APPLY.run(redis, tallyKeys(prefix, tally), [context.id, amount, TALLY_TTL_SECONDS]);
    return { applied: applied === 1 };
  });
}
