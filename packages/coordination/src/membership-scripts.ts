import { LuaScript } from '@flotilla/redis';

// KEYS of every script: the group's expiry sorted set, then its capabilities hash (both under
// the group's hash tag, so the scripts run on a Redis Cluster). Scores are expiry times on
// Redis's clock, so hosts whose clocks disagree still agree on who is alive.
const CLOCK = `local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
`;

/**
 * ARGV: id, ttl ms, capabilities JSON, channel. Records a heartbeat; announces a join when the
 * id was not a live member before. Returns 1 for a join, 0 for a plain heartbeat.
 */
export const heartbeatScript = new LuaScript(`${CLOCK}
local previous = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if (not previous) or tonumber(previous) <= now then
  redis.call('PUBLISH', ARGV[4], 'join ' .. ARGV[1])
  return 1
end
return 0`);

/** ARGV: id, channel. Removes the member and announces the leave; returns 1 if it was there. */
export const leaveScript = new LuaScript(`
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if removed == 1 then redis.call('PUBLISH', ARGV[2], 'leave ' .. ARGV[1]) end
return removed`);

/**
 * ARGV: channel. Prunes the members whose lease ran out (announcing each as a leave), then
 * returns the live ones as a flat list: id, expiry, capabilities JSON, id, …
 */
export const membersScript = new LuaScript(`${CLOCK}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, id in ipairs(dead) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('PUBLISH', ARGV[1], 'leave ' .. id)
end
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')
local out = {}
for i = 1, #live, 2 do
  out[#out + 1] = live[i]
  out[#out + 1] = live[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], live[i]) or '{}'
end
return out`);
