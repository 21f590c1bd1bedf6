import { EventEmitter } from 'node:events';
import type { RedisClient } from '@flotilla/redis';
import type { GroupMembership, Member } from './group-membership.js';
import { optionsObject, positiveMs, redisClient } from './validate.js';

/**
 * Events of a watcher, each a difference between two reads of the group: members that joined,
 * members that left (explicitly, or by missing heartbeats past their ttl), and the whole list
 * after any change. Differences from the view read at start are reported; the view itself is
 * `members()`.
 */
export interface MembershipEvents {
  join: [member: Member];
  leave: [member: Member];
  change: [members: readonly Member[]];
  error: [error: Error];
}

/** Options of {@link MembershipWatcher.start}. */
export interface WatchOptions {
  /** A connection for SUBSCRIBE, of role `subscriber`, that the watcher owns and closes. */
  readonly subscriber: RedisClient;
  /**
   * How often the group is re-read. Joins and explicit leaves are announced at once; a member
   * that died without leaving (SIGKILL) is seen as gone within its ttlMs plus this pollMs.
   */
  readonly pollMs: number;
}

/**
 * A live view of one group: its members, kept up to date from the group's join and leave
 * announcements and a periodic re-read, with an event for every difference.
 */
export class MembershipWatcher extends EventEmitter<MembershipEvents> {
  readonly #membership: GroupMembership;
  readonly #group: string;
  readonly #subscriber: RedisClient;
  #members: readonly Member[] = [];
  #timer: NodeJS.Timeout | undefined;
  #reading: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;
  #closed = false;

  private constructor(membership: GroupMembership, group: string, subscriber: RedisClient) {
    super();
    this.#membership = membership;
    this.#group = group;
    this.#subscriber = subscriber;
  }

  /** Subscribes to the group's announcements, reads its members once, and resolves with the watcher. */
  static async start(membership: GroupMembership, group: string, options: WatchOptions): Promise<MembershipWatcher> {
    const subscriber = redisClient('watch subscriber', optionsObject('watch options', options).subscriber);
    const events: EventEmitter = subscriber;
    const watcher = new MembershipWatcher(membership, group, subscriber);
    try {
      const pollMs = positiveMs('pollMs', options.pollMs);
      const { channel } = membership.keys(group);
      // Connection trouble shows as failed reads (the 'error' event); ioredis resubscribes on reconnect.
      events.on('error', () => {});
      events.on('message', (from: string) => {
        if (from === channel) void watcher.refresh();
      });
      await subscriber.subscribe(channel);
      await watcher.refresh();
      watcher.#timer = setInterval(() => void watcher.refresh(), pollMs);
      watcher.#timer.unref();
    } catch (error) {
      subscriber.disconnect();
      throw error;
    }
    // A reconnect may have lost announcements; the re-read catches up at once.
    events.on('ready', () => void watcher.refresh());
    return watcher;
  }

  /** The members as last read, sorted by id. */
  members(): readonly Member[] {
    return this.#members;
  }

  /**
   * Re-reads the group and emits the differences; resolves once a read that started after this
   * call has finished. Calls during a read share one follow-up read.
   */
  refresh(): Promise<void> {
    this.#queued ??= this.#reading.then(() => {
      this.#queued = undefined;
      this.#reading = this.#read();
      return this.#reading;
    });
    return this.#queued;
  }

  /** Stops polling and closes the subscriber connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#queued;
    await this.#reading;
    await this.#subscriber.quit().catch(() => this.#subscriber.disconnect());
  }

  async #read(): Promise<void> {
    if (this.#closed) return;
    let current: Member[];
    try {
      current = await this.#membership.members(this.#group);
    } catch (error) {
      // Keep the last view; the next poll tries again.
      if (this.listenerCount('error') > 0) this.emit('error', error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (this.#closed) return;
    const before = new Map(this.#members.map((m) => [m.id, m]));
    const after = new Set(current.map((m) => m.id));
    this.#members = current;
    const joined = current.filter((m) => !before.has(m.id));
    const left = [...before.values()].filter((m) => !after.has(m.id));
    for (const member of joined) this.emit('join', member);
    for (const member of left) this.emit('leave', member);
    if (joined.length > 0 || left.length > 0) this.emit('change', current);
  }
}
