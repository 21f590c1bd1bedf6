import { EventEmitter } from 'node:events';
import type { RedisClient } from '@flotilla/redis';
import type { GroupMembership, Member } from './group-membership.js';
import { positiveInteger } from './validate.js';

/** Events of a watcher: the members that joined or left, and the whole list after any change. */
export interface MembershipEvents {
  join: [member: Member];
  leave: [id: string];
  change: [members: readonly Member[]];
  error: [error: Error];
}

/** Options of `MembershipWatcher.start`. */
export interface WatchOptions {
  /** A dedicated connection for SUBSCRIBE; the watcher closes it. */
  readonly subscriber: RedisClient;
  /**
   * How often the list is re-read. Joins and explicit leaves are announced at once; a member
   * that died without leaving is noticed within its ttl plus this interval.
   */
  readonly pollMs: number;
}

/**
 * A live view of a group: the current members, kept up to date from the group's join/leave
 * announcements and a periodic re-read, with events for every difference.
 */
export class MembershipWatcher extends EventEmitter<MembershipEvents> {
  readonly #membership: GroupMembership;
  readonly #group: string;
  readonly #subscriber: RedisClient;
  #members: readonly Member[] = [];
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  #again = false;
  #closed = false;

  private constructor(membership: GroupMembership, group: string, subscriber: RedisClient) {
    super();
    this.#membership = membership;
    this.#group = group;
    this.#subscriber = subscriber;
  }

  /** Subscribes, reads the members once, and resolves with the watcher. */
  static async start(membership: GroupMembership, group: string, options: WatchOptions): Promise<MembershipWatcher> {
    const pollMs = positiveInteger('pollMs', options.pollMs);
    const watcher = new MembershipWatcher(membership, group, options.subscriber);
    const { channel } = membership.keys(group);
    options.subscriber.on('message', (from: string) => {
      if (from === channel) void watcher.refresh();
    });
    await options.subscriber.subscribe(channel);
    await watcher.refresh();
    watcher.#timer = setInterval(() => void watcher.refresh(), pollMs);
    watcher.#timer.unref();
    return watcher;
  }

  /** The members as last read, sorted by id. */
  members(): readonly Member[] {
    return this.#members;
  }

  /** Re-reads the members now; concurrent calls share one read and queue at most one more. */
  refresh(): Promise<void> {
    if (this.#refreshing) {
      this.#again = true;
      return this.#refreshing;
    }
    this.#refreshing = this.#read().finally(() => {
      this.#refreshing = undefined;
      if (this.#again && !this.#closed) {
        this.#again = false;
        void this.refresh();
      }
    });
    return this.#refreshing;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#refreshing;
    await this.#subscriber.quit().catch(() => this.#subscriber.disconnect());
  }

  async #read(): Promise<void> {
    let current: Member[];
    try {
      current = await this.#membership.members(this.#group);
    } catch (error) {
      // Redis away: keep the last view; the next poll tries again.
      if (this.listenerCount('error') > 0) this.emit('error', error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (this.#closed) return;
    const before = new Map(this.#members.map((m) => [m.id, m]));
    const after = new Set(current.map((m) => m.id));
    this.#members = current;
    const joined = current.filter((m) => !before.has(m.id));
    const left = [...before.keys()].filter((id) => !after.has(id));
    for (const member of joined) this.emit('join', member);
    for (const id of left) this.emit('leave', id);
    if (joined.length > 0 || left.length > 0) this.emit('change', current);
  }
}
