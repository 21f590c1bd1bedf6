import { createHash } from 'node:crypto';
import { keyPart, positiveInteger } from './validate.js';

/** A member of a {@link HashRing}; a member of weight 2 gets about twice the keys of one of weight 1. */
export interface RingMember {
  readonly id: string;
  readonly weight?: number;
}

/** Points per unit of weight: with 160, each of a handful of members lands within a few % of its share. */
const VNODES_PER_WEIGHT = 160;

// md5 for spread, not secrecy: its first 32 bits are uniform, and node:crypto has it everywhere.
function position(text: string): number {
  return createHash('md5').update(text).digest().readUInt32BE(0);
}

function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// By hand: npm's hashring parses members as host:port servers and caches lookups; a sorted array suffices.
/**
 * A consistent-hash ring: each member is placed at many points (virtual nodes, as many as its
 * weight asks for) and a key belongs to the member of the first point clockwise from the key's
 * hash, so adding or removing one of N members moves only about 1/N of the keys, all to or
 * from that member. Every process that builds a ring from the same members, in any order, gets
 * the same owners.
 */
export class HashRing {
  readonly #weights = new Map<string, number>();
  #points = new Uint32Array(0);
  #owners: string[] = [];

  constructor(members: Iterable<string | RingMember> = []) {
    for (const member of members) {
      if (typeof member === 'string') this.#set(member, 1);
      else this.#set(member.id, member.weight ?? 1);
    }
    this.#rebuild();
  }

  /** How many members the ring holds. */
  get size(): number {
    return this.#weights.size;
  }

  /** The member ids, sorted. */
  members(): string[] {
    return [...this.#weights.keys()].sort(byId);
  }

  /** Adds a member, or changes its weight. */
  add(id: string, weight = 1): void {
    this.#set(id, weight);
    this.#rebuild();
  }

  /** Removes a member; its keys go to the others. */
  remove(id: string): void {
    if (this.#weights.delete(id)) this.#rebuild();
  }

  /** The member that owns `key`, or undefined on an empty ring. */
  owner(key: string): string | undefined {
    if (typeof key !== 'string') throw new TypeError(`hash ring key must be a string, got ${typeof key}`);
    const points = this.#points;
    if (points.length === 0) return undefined;
    const target = position(key);
    let low = 0;
    let high = points.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((points[middle] ?? 0) < target) low = middle + 1;
      else high = middle;
    }
    return this.#owners[low === points.length ? 0 : low];
  }

  #set(id: string, weight: number): void {
    this.#weights.set(keyPart('hash ring member id', id), positiveInteger('hash ring weight', weight));
  }

  #rebuild(): void {
    const placed: { point: number; id: string }[] = [];
    for (const [id, weight] of this.#weights) {
      for (let i = 0; i < weight * VNODES_PER_WEIGHT; i++) placed.push({ point: position(`${id}#${i}`), id });
    }
    // Two members on one point: the smaller id wins, so insertion order never matters.
    placed.sort((a, b) => a.point - b.point || byId(a.id, b.id));
    this.#points = Uint32Array.from(placed, (p) => p.point);
    this.#owners = placed.map((p) => p.id);
  }
}
