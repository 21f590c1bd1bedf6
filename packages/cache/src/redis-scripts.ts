import { LuaScript } from '@flotilla/redis';
import { ENTRY_FORMAT_LUA } from './entry-format.js';

// Tag generations are written by hand: no library keeps per-tag counters that a read can check
// in the same round trip. A generation is Redis's clock in microseconds when the tag was
// created or last invalidated (kept strictly increasing), so:
// - a key that expired or was evicted comes back with a value no old entry recorded: its
//   entries then read as invalid instead of coming back to life;
// - a write fenced at time F (see Cache.fence) can tell that a tag was invalidated after F,
//   while the value it carries was being computed, and skip the write.
// Only Redis's own clock is compared, never a process's. The read script touches tag keys it
// was not given in KEYS; that is sound in Redis Cluster because they share the hash tag of the
// entries' key group, which keeps its own copy of every tag's generation (see CacheKeys).
// Generations of different groups come from different nodes' clocks and are never compared.

// Lua numbers are doubles: exact for microsecond timestamps (< 2^53); '%.0f' prints them whole.
const CLOCK_LUA = `
local function clock_us()
  local t = redis.call('TIME')
  return string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2]))
end
`;

/**
 * KEYS: entry keys. ARGV: tagBase. Returns one raw entry (or nil) per key; an entry whose
 * recorded tag generations differ from the current ones reads as nil.
 */
export const readScript = new LuaScript(`${ENTRY_FORMAT_LUA}
local tagBase = ARGV[1]
local generations = {}
local out = {}
for i = 1, #KEYS do
  local raw = redis.call('GET', KEYS[i])
  local valid = false
  if raw then
    local tags = entry_tags(raw)
    if tags then
      valid = true
      for t = 1, #tags, 2 do
        local current = generations[tags[t]]
        if current == nil then
          current = redis.call('GET', tagBase .. tags[t]) or ''
          generations[tags[t]] = current
        end
        if current ~= tags[t + 1] then
          valid = false
          break
        end
      end
    end
  end
  out[i] = valid and raw or false
end
return out
`);

/**
 * KEYS: entry keys, then the tag keys (declared for Cluster routing). ARGV: tagBase, channel,
 * message ('' publishes nothing), entry count, then per entry: px, storedAt, freshUntil,
 * staleUntil, fence ('' for none), tag count, (tag, expected generation or '')…, value.
 * Writes each entry with the current generations of its tags, unless an expected generation
 * differs or a tag was invalidated after the fence (the value may be outdated). A tag that does
 * not exist yet starts at the fence, or now. Returns {receivers, written1, written2, …}.
 */
export const writeScript = new LuaScript(`${ENTRY_FORMAT_LUA}${CLOCK_LUA}
local tagBase, channel, message = ARGV[1], ARGV[2], ARGV[3]
local count = tonumber(ARGV[4])
local a = 5
local result = {0}
for i = 1, count do
  local px = tonumber(ARGV[a])
  local storedAt, freshUntil, staleUntil, fence = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local tagCount = tonumber(ARGV[a + 5])
  a = a + 6
  local tags, generations, current = {}, {}, true
  for t = 1, tagCount do
    local tag, expected = ARGV[a], ARGV[a + 1]
    a = a + 2
    local tagKey = tagBase .. tag
    local generation = redis.call('GET', tagKey)
    if not generation then
      if fence ~= '' then generation = fence else generation = clock_us() end
      redis.call('SET', tagKey, generation, 'PX', px)
    else
      local ttl = redis.call('PTTL', tagKey)
      if ttl >= 0 and ttl < px then redis.call('PEXPIRE', tagKey, px) end
      if fence ~= '' and tonumber(generation) > tonumber(fence) then current = false end
    end
    if expected ~= '' and expected ~= generation then current = false end
    tags[t] = tag
    generations[t] = generation
  end
  local value = ARGV[a]
  a = a + 1
  if current then
    redis.call('SET', KEYS[i], entry_header(storedAt, freshUntil, staleUntil, tags, generations) .. value, 'PX', px)
    result[i + 1] = 1
  else
    result[i + 1] = 0
  end
end
if message ~= '' then result[1] = redis.call('PUBLISH', channel, message) end
return result
`);

/** KEYS: entry keys. ARGV: channel, message. Deletes them; returns the receiver count. */
export const removeScript = new LuaScript(`
for i = 1, #KEYS do redis.call('DEL', KEYS[i]) end
return redis.call('PUBLISH', ARGV[1], ARGV[2])
`);

/**
 * KEYS: tag keys. ARGV: channel, message, px for tags that do not exist yet. Moves each tag to
 * its next generation, now on Redis's clock (O(1) per tag); an absent tag is created, so a
 * write fenced before this invalidation still sees it. Returns the receiver count.
 */
export const bumpTagsScript = new LuaScript(`${CLOCK_LUA}
local now = clock_us()
for i = 1, #KEYS do
  local current = redis.call('GET', KEYS[i])
  if not current then
    redis.call('SET', KEYS[i], now, 'PX', ARGV[3])
  elseif tonumber(current) < tonumber(now) then
    redis.call('SET', KEYS[i], now, 'KEEPTTL')
  else
    redis.call('SET', KEYS[i], string.format('%.0f', tonumber(current) + 1), 'KEEPTTL')
  end
end
return redis.call('PUBLISH', ARGV[1], ARGV[2])
`);

/**
 * KEYS: tag keys. ARGV: px. The current generation of each tag, creating absent ones so that
 * an invalidation during a computation is noticed when its value is written.
 */
export const snapshotTagsScript = new LuaScript(`${CLOCK_LUA}
local out = {}
local px = tonumber(ARGV[1])
for i = 1, #KEYS do
  local generation = redis.call('GET', KEYS[i])
  if not generation then
    generation = clock_us()
    redis.call('SET', KEYS[i], generation, 'PX', px)
  else
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl >= 0 and ttl < px then redis.call('PEXPIRE', KEYS[i], px) end
  end
  out[i] = generation
end
return out
`);

/** KEYS: lock key. ARGV: token, channel, message. Releases a lock still held and announces it. */
export const unlockScript = new LuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`);

/** KEYS: any key of a key group (it routes the call to the group's node). Redis's clock, in µs. */
export const fenceScript = new LuaScript(`${CLOCK_LUA}
return clock_us()
`);

/** Every script of the tiers, for preloading. */
export const cacheScripts: readonly LuaScript[] = [
  readScript,
  writeScript,
  removeScript,
  bumpTagsScript,
  snapshotTagsScript,
  unlockScript,
  fenceScript,
];
