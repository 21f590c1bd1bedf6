import { randomBytes } from 'node:crypto';
import type { RedisClient } from '@flotilla/redis';
import { decodeCapabilities, encodeCapabilities, type Capabilities } from './capabilities.js';
import { heartbeatScript, leaveScript, membersScript } from './membership-scripts.js';
import { keyPart, keyPrefix, optionsObject, positiveMs, redisClient } from './validate.js';

/** A live member of a group. */
export interface Member {
  readonly id: string;
  readonly capabilities: Capabilities;
  /** When it stops counting as alive unless it heartbeats again (epoch ms, Redis's clock). */
  readonly expiresAt: number;
}

/** Timing and identity of one membership. */
export interface JoinOptions {
  /** How often the member renews its lease. */
  readonly heartbeatMs: number;
  /** Silence after which the member counts as gone; at least twice heartbeatMs. */
  readonly ttlMs: number;
  /** The member id; random when absent. A live member with the same id is replaced. */
  readonly id?: string;
  /**
   * Called when a heartbeat fails (Redis unreachable; the next one retries), and when a
   * capabilities function throws or returns invalid capabilities (the heartbeat then carries
   * the last valid ones).
   */
  readonly onError?: (error: Error) => void;
}

/** A member's capabilities, fixed or read afresh for every heartbeat (e.g. to report its load). */
export type CapabilitiesSource = Capabilities | (() => Capabilities);

/** This process's membership of one group. */
export interface MembershipHandle {
  readonly id: string;
  readonly group: string;
  /** Stops heartbeating and leaves at once rather than after the ttl. Idempotent. */
  leave(): Promise<void>;
}

/** The Redis keys and channel of one group; all share the group's hash tag. */
export interface GroupKeys {
  /** Sorted set: member id scored by its expiry time. */
  readonly expiries: string;
  /** Hash: member id to its capabilities as JSON. */
  readonly capabilities: string;
  /** Pub/sub channel carrying `join <id>` and `leave <id>`. */
  readonly channel: string;
}

/**
 * Who is alive in each group of the fleet, kept in Redis: members heartbeat a lease, leave
 * explicitly on shutdown, and a member that stops heartbeating (SIGKILL, a frozen host) drops
 * out once its ttl has passed. Joins and leaves are published for {@link MembershipWatcher}s.
 */
export class GroupMembership {
  readonly #redis: RedisClient;
  readonly #prefix: string;

  /** `prefix` starts every key, e.g. `flotilla:fleet:`. The connection stays the caller's. */
  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redisClient('GroupMembership redis', redis);
    this.#prefix = keyPrefix('GroupMembership prefix', prefix);
  }

  /** The keys of `group`: `<prefix>{<group>}`, `…:capabilities` and `…:events`. */
  keys(group: string): GroupKeys {
    const base = `${this.#prefix}{${keyPart('group', group)}}`;
    return { expiries: base, capabilities: `${base}:capabilities`, channel: `${base}:events` };
  }

  /**
   * Joins `group` now (resolving once Redis has recorded it) and heartbeats until `leave()`.
   * A capabilities function is called at the join, where an error rejects it, and at every heartbeat.
   */
  async join(group: string, capabilities: CapabilitiesSource, options: JoinOptions): Promise<MembershipHandle> {
    optionsObject('join options', options);
    const heartbeatMs = positiveMs('heartbeatMs', options.heartbeatMs);
    const ttlMs = positiveMs('ttlMs', options.ttlMs);
    if (ttlMs < 2 * heartbeatMs)
      throw new RangeError(
        `ttlMs (${ttlMs}) must be at least twice heartbeatMs (${heartbeatMs}), so one late heartbeat is not a death`,
      );
    const id = keyPart('member id', options.id ?? randomBytes(8).toString('hex'));
    const keys = this.keys(group);
    let payload = encodeCapabilities(typeof capabilities === 'function' ? capabilities() : capabilities);
    const beat = (): Promise<unknown> =>
      heartbeatScript.run(this.#redis, [keys.expiries, keys.capabilities], [id, ttlMs, payload, keys.channel]);
    const report = (error: unknown): void => {
      try {
        options.onError?.(error instanceof Error ? error : new Error(String(error)));
      } catch {
        // A failing error handler must not stop the heartbeats.
      }
    };

    await beat();
    let left = false;
    let timer: NodeJS.Timeout | undefined;
    let beating: Promise<void> = Promise.resolve();
    // Each heartbeat is scheduled when the previous one has settled, so a slow Redis never
    // has several in flight, and leave() can wait for the last one before removing the member.
    const schedule = (): void => {
      timer = setTimeout(() => {
        if (typeof capabilities === 'function') {
          try {
            payload = encodeCapabilities(capabilities());
          } catch (error) {
            // Still beat, with the last valid payload: a broken report must not look like a death.
            report(error);
          }
        }
        beating = beat().then(() => undefined, report);
        void beating.then(() => {
          if (!left) schedule();
        });
      }, heartbeatMs);
      // A heartbeat alone must not keep alive a process that is otherwise done.
      timer.unref();
    };
    schedule();

    let leaving: Promise<void> | undefined;
    return {
      id,
      group,
      leave: () => {
        left = true;
        clearTimeout(timer);
        leaving ??= beating
          .then(() => leaveScript.run(this.#redis, [keys.expiries, keys.capabilities], [id, keys.channel]))
          .then(
            () => undefined,
            (error: unknown) => {
              // Not left: a later call may try again (or the ttl removes the member anyway).
              leaving = undefined;
              throw error;
            },
          );
        return leaving;
      },
    };
  }

  /** The live members of `group`, sorted by id; members past their ttl are removed on the way. */
  async members(group: string): Promise<Member[]> {
    const keys = this.keys(group);
    const reply = (await membersScript.run(
      this.#redis,
      [keys.expiries, keys.capabilities],
      [keys.channel],
    )) as Buffer[];
    const members: Member[] = [];
    for (let i = 0; i + 2 < reply.length; i += 3) {
      members.push({
        id: String(reply[i]),
        expiresAt: Number(String(reply[i + 1])),
        capabilities: decodeCapabilities(String(reply[i + 2])),
      });
    }
    return members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
