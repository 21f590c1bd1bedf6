import { createHash } from 'node:crypto';
import { positiveInteger } from './validate.js';

/** Virtual nodes per unit of weight: enough that each of a handful of members gets within a few % of its share. */
const VNODES_PER_WEIGHT = 160;

function position(text: string): number {
  return createHash('md5').update(text).digest().readUInt32BE(0);
}

/**
 * A consistent-hash ring: each member is placed at many points (virtual nodes, as many as its
 * weight asks for) and a key belongs to the first point clockwise from the key's hash, so adding
 * or removing one of N members moves only about 1/N of the keys. Every process that builds a
 * ring from the same members gets the same owners.
 *
 * Hand-written: npm's rings (e.g. hashring) parse member names as host:port addresses and keep
 * lookup caches; a sorted array with a binary search is all this needs.
 */
export class HashRing {
  readonly #weights = new Map<string, number>();
  #points: Uint32Array = new Uint32Array(0);
  #owners: string[] = [];

  constructor(members: Iterable<string | { readonly id: string; readonly weight?: number }> = []) {
    for (const member of members) {
      if (typeof member === 'string') this.#weights.set(member, 1);
      else this.#weights.set(member.id, positiveInteger('weight', member.weight ?? 1));
    }
    this.#rebuild();
  }

  get size(): number {
    return this.#weights.size;
  }

  members(): string[] {
    return [...this.#weights.keys()].sort();
  }

  add(id: string, weight = 1): void {
    this.#weights.set(id, positiveInteger('weight', weight));
    this.#rebuild();
  }

  remove(id: string): void {
    if (this.#weights.delete(id)) this.#rebuild();
  }

  /** The member that owns `key`, or undefined on an empty ring. */
  owner(key: string): string | undefined {
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

  #rebuild(): void {
    const placed: { point: number; id: string }[] = [];
    for (const [id, weight] of this.#weights) {
      for (let i = 0; i < weight * VNODES_PER_WEIGHT; i++) placed.push({ point: position(`${id}#${i}`), id });
    }
    // Ties (two members on one point) go to the smaller id, so insertion order never matters.
    placed.sort((a, b) => a.point - b.point || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.#points = Uint32Array.from(placed, (p) => p.point);
    this.#owners = placed.map((p) => p.id);
  }
}
