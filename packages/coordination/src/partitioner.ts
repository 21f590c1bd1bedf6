import { EventEmitter } from 'node:events';
import type { Member } from './group-membership.js';
import { HashRing } from './hash-ring.js';
import type { MembershipWatcher } from './membership-watcher.js';
import { keyPart } from './validate.js';

/** Events of a partitioner: the ring changed, so some keys moved; `members` are the ids it now holds. */
export interface PartitionerEvents {
  change: [members: readonly string[]];
}

// `join` checks the capability; a value written by another release that is not a positive integer counts as 1.
function weightOf(member: Member): number {
  const weight = Number(member.capabilities.weight ?? 1);
  return Number.isSafeInteger(weight) && weight >= 1 ? weight : 1;
}

function ringOf(members: readonly Member[]): HashRing {
  return new HashRing(members.map((m) => ({ id: m.id, weight: weightOf(m) })));
}

/**
 * Splits keys between the live members of one group: a hash ring rebuilt from a
 * {@link MembershipWatcher} of the group whenever members join or leave, so each key has
 * exactly one owner among the members this process sees. A member's `weight` capability sets
 * its share. Processes agree once the same joins and leaves have reached them (at once for
 * announced ones, within ttlMs + pollMs for a member that died): work that must run at most
 * once per key should still claim the key in Redis or use a lock's fencing token.
 */
export class Partitioner extends EventEmitter<PartitionerEvents> {
  readonly #watcher: MembershipWatcher;
  readonly #self: string;
  readonly #onChange: (members: readonly Member[]) => void;
  #ring: HashRing;

  /** `selfId` is this process's member id in the watched group. The watcher stays the caller's. */
  constructor(watcher: MembershipWatcher, selfId: string) {
    super();
    this.#watcher = watcher;
    this.#self = keyPart('partitioner member id', selfId);
    this.#ring = ringOf(watcher.members());
    this.#onChange = (members) => {
      this.#ring = ringOf(members);
      this.emit('change', this.#ring.members());
    };
    watcher.on('change', this.#onChange);
  }

  /** The member ids the ring holds now, sorted. */
  members(): string[] {
    return this.#ring.members();
  }

  /** The member that owns `key`, or undefined while no member is live. */
  owner(key: string): string | undefined {
    return this.#ring.owner(key);
  }

  /** Whether this process owns `key`. */
  owns(key: string): boolean {
    return this.#ring.owner(key) === this.#self;
  }

  /** The keys of `keys` this process owns, in their order. */
  ownedKeys(keys: Iterable<string>): string[] {
    return [...keys].filter((key) => this.owns(key));
  }

  /** Stops following the watcher. Idempotent. */
  close(): void {
    this.#watcher.off('change', this.#onChange);
  }
}
