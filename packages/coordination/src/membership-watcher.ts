import { EventEmitter } from 'node:events';
import { SharedSubscriber, type Subscription } from '@flotilla/redis';
import type { GroupMembership, Member } from './group-membership.js';
import { optionsObject, positiveMs } from './validate.js';

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
  /** The process's pub/sub connection to the membership's Redis; the watcher only subscribes through it. */
  readonly subscriber: SharedSubscriber;
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
  #subscription: Subscription | undefined;
  #members: readonly Member[] = [];
  #timer: NodeJS.Timeout | undefined;
  #reading: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;
  #closed = false;

  private constructor(membership: GroupMembership, group: string) {
    super();
    this.#membership = membership;
    this.#group = group;
  }

  /** Subscribes to the group's announcements, reads its members once, and resolves with the watcher. */
  static async start(membership: GroupMembership, group: string, options: WatchOptions): Promise<MembershipWatcher> {
    const { subscriber } = optionsObject('watch options', options);
    if (!(subscriber instanceof SharedSubscriber)) throw new TypeError('watch subscriber must be a SharedSubscriber');
    const pollMs = positiveMs('pollMs', options.pollMs);
    const watcher = new MembershipWatcher(membership, group);
    const { channel } = membership.keys(group);
    watcher.#subscription = await subscriber.subscribe([channel], {
      message: () => void watcher.refresh(),
      // A reconnect may have lost announcements; the re-read catches up at once.
      liveChange: (live) => {
        if (live) void watcher.refresh();
      },
    });
    await watcher.refresh();
    watcher.#timer = setInterval(() => void watcher.refresh(), pollMs);
    watcher.#timer.unref();
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

  /** Stops polling and unsubscribes. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#queued;
    await this.#reading;
    await this.#subscription?.close();
  }

  async #read(): Promise<void> {
    if (this.#closed) return;
    let current: Member[];
    try {
      current = await this.#membership.members(this.#group);
    } catch (error) {
      // Keep the last view; the next poll tries again.
      if (this.listenerCount('error') > 0)
        this.emit('error', error instanceof Error ? error : new Error(String(error)));
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
