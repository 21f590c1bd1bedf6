import { LuaScript } from '@flotilla/redis';

// Each script names every key it touches in KEYS, and a lock's lease and token counter share a
// hash tag, so all of them run on a Redis Cluster.

/**
 * KEYS: lease, token counter. ARGV: owner id, ttl ms. Takes the lease when it is free and returns
 * the next fencing token; false when someone holds it. Counting in the same script as the SET
 * makes token order equal acquisition order.
 */
export const acquireScript = new LuaScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false`);

/** KEYS: lease. ARGV: owner id. Deletes the lease only if this owner still holds it; 1 if so. */
export const releaseScript = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

/** KEYS: lease. ARGV: owner id, ttl ms. Restarts the lease only if this owner still holds it; 1 if so. */
export const extendScript = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`);
