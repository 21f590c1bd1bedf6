import { EventEmitter } from 'node:events';
import { HashRing } from './hash-ring.js';
import type { Member } from './group-membership.js';
import type { MembershipWatcher } from './membership-watcher.js';

/** Events of a partitioner: the ring changed, so ownership of some keys moved. */
export interface PartitionerEvents {
  change: [members: readonly string[]];
}

function weightOf(member: Member): number {
  const weight = Number(member.capabilities['weight'] ?? 1);
  return Number.isInteger(weight) && weight >= 1 ? weight : 1;
}

/**
 * Splits keys between the live members of a group: a hash ring rebuilt from a membership
 * watcher whenever members join or leave, so each key has one owner among the members this
 * process currently sees. Members may carry a `weight` capability (a positive integer).
 * Views of different processes agree once the same joins and leaves have reached them; work
 * that must run at most once per key and period should also claim the key in Redis.
 */
export class Partitioner extends EventEmitter<PartitionerEvents> {
  readonly #self: string;
  #ring: HashRing;

  constructor(watcher: MembershipWatcher, selfId: string) {
    super();
    this.#self = selfId;
    this.#ring = Partitioner.#ringOf(watcher.members());
    watcher.on('change', (members) => {
      this.#ring = Partitioner.#ringOf(members);
      this.emit('change', this.#ring.members());
    });
  }

  static #ringOf(members: readonly Member[]): HashRing {
    return new HashRing(members.map((m) => ({ id: m.id, weight: weightOf(m) })));
  }

  /** The member ids the ring holds now. */
  members(): string[] {
    return this.#ring.members();
  }

  owner(key: string): string | undefined {
    return this.#ring.owner(key);
  }

  owns(key: string): boolean {
    return this.#ring.owner(key) === this.#self;
  }

  /** The keys of `keys` this process owns. */
  ownedKeys(keys: Iterable<string>): string[] {
    return [...keys].filter((key) => this.owns(key));
  }
}
