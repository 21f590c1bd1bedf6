import { randomBytes } from 'node:crypto';
import { LuaScript, type RedisClient } from '@flotilla/redis';
import { keyPart, positiveInteger } from './validate.js';

/** What a member tells the fleet about itself; values are strings so any dashboard can show them. */
export type Capabilities = Readonly<Record<string, string>>;

/** A live member of a group. */
export interface Member {
  readonly id: string;
  readonly capabilities: Capabilities;
  /** When Redis will stop counting it as alive unless it heartbeats again (epoch ms, Redis clock). */
  readonly expiresAt: number;
}

/** Timing of one membership. */
export interface JoinOptions {
  readonly heartbeatMs: number;
  /** Silence after which the member counts as gone; at least twice heartbeatMs. */
  readonly ttlMs: number;
  /** Called when a heartbeat fails (Redis unreachable); the next one retries. */
  readonly onError?: (error: Error) => void;
}

/** This process's membership; `leave()` ends it at once rather than after the ttl. */
export interface MembershipHandle {
  readonly id: string;
  readonly group: string;
  leave(): Promise<void>;
}

// Scores are expiry times on Redis's clock, so hosts whose clocks disagree still agree on who is alive.
const CLOCK = `local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
`;

// KEYS: expiries (zset), capabilities (hash). ARGV: id, ttl ms, capabilities JSON, channel.
// Returns 1 when the id was not a live member before (a join), 0 for a plain heartbeat.
const heartbeatScript = new LuaScript(`${CLOCK}
local previous = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if (not previous) or tonumber(previous) <= now then
  redis.call('PUBLISH', ARGV[4], 'join ' .. ARGV[1])
  return 1
end
return 0`);

const leaveScript = new LuaScript(`
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if removed == 1 then redis.call('PUBLISH', ARGV[2], 'leave ' .. ARGV[1]) end
return removed`);

// Prunes the members whose lease ran out, then returns the live ones: id, expiry, capabilities…
const membersScript = new LuaScript(`${CLOCK}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #dead > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('HDEL', KEYS[2], unpack(dead))
  for _, id in ipairs(dead) do redis.call('PUBLISH', ARGV[1], 'leave ' .. id) end
end
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')
local out = {}
for i = 1, #live, 2 do
  out[#out + 1] = live[i]
  out[#out + 1] = live[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], live[i]) or '{}'
end
return out`);

/** The Redis keys and channel of one group; all share the group's hash tag. */
export interface GroupKeys {
  readonly expiries: string;
  readonly capabilities: string;
  readonly channel: string;
}

/**
 * Who is alive in each group of the fleet, kept in Redis: members heartbeat a lease, leave
 * explicitly on shutdown, and a member that stops heartbeating (SIGKILL, a frozen host) drops
 * out once its ttl has passed. Joins and leaves are also published, for watchers.
 */
export class GroupMembership {
  readonly #redis: RedisClient;
  readonly #prefix: string;

  /** `prefix` starts every key, e.g. `flotilla:members:`. */
  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  keys(group: string): GroupKeys {
    const base = `${this.#prefix}{${keyPart('group', group)}}`;
    return { expiries: base, capabilities: `${base}:capabilities`, channel: `${base}:events` };
  }

  /** Joins `group` now and keeps heartbeating until `leave()`. The id is random unless given. */
  async join(group: string, capabilities: Capabilities, options: JoinOptions & { readonly id?: string }): Promise<MembershipHandle> {
    const heartbeatMs = positiveInteger('heartbeatMs', options.heartbeatMs);
    const ttlMs = positiveInteger('ttlMs', options.ttlMs);
    if (ttlMs < 2 * heartbeatMs) throw new RangeError(`ttlMs (${ttlMs}) must be at least twice heartbeatMs (${heartbeatMs})`);
    const id = keyPart('member id', options.id ?? randomBytes(8).toString('hex'));
    const keys = this.keys(group);
    const payload = JSON.stringify(capabilities);
    const beat = (): Promise<unknown> => heartbeatScript.run(this.#redis, [keys.expiries, keys.capabilities], [id, ttlMs, payload, keys.channel]);
    await beat();
    const timer = setInterval(() => {
      beat().catch((error: unknown) => options.onError?.(error instanceof Error ? error : new Error(String(error))));
    }, heartbeatMs);
    // A heartbeat alone must not keep a process alive that is otherwise done.
    timer.unref();
    let left: Promise<void> | undefined;
    return {
      id,
      group,
      leave: () => {
        clearInterval(timer);
        left ??= leaveScript.run(this.#redis, [keys.expiries, keys.capabilities], [id, keys.channel]).then(() => undefined);
        return left;
      },
    };
  }

  /** The live members of `group`, sorted by id; members past their ttl are removed on the way. */
  async members(group: string): Promise<Member[]> {
    const keys = this.keys(group);
    const reply = (await membersScript.run(this.#redis, [keys.expiries, keys.capabilities], [keys.channel])) as Buffer[];
    const members: Member[] = [];
    for (let i = 0; i + 2 < reply.length; i += 3) {
      members.push({
        id: String(reply[i]),
        expiresAt: Number(String(reply[i + 1])),
        capabilities: parseCapabilities(String(reply[i + 2])),
      });
    }
    return members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

function parseCapabilities(json: string): Capabilities {
  try {
    const value: unknown = JSON.parse(json);
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    }
  } catch {
    // A member written by another version of this code: show it without capabilities.
  }
  return {};
}
