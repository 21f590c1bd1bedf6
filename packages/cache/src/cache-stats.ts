import type { CacheEvent, CacheStatsSnapshot } from './types.js';

type CounterName = Exclude<keyof CacheStatsSnapshot, 'name' | 'hits' | 'l1Entries' | 'l1Bytes'>;
type Listener = (event: CacheEvent) => void;

/** The counters added to the fleet statistics hashes. */
export const FLEET_FIELDS = [
  'hits',
  'l1Hits',
  'l2Hits',
  'misses',
  'staleHits',
  'refreshes',
  'invalidations',
  'sets',
  'ackTimeouts',
] as const;
/** One of {@link FLEET_FIELDS}. */
export type FleetField = (typeof FLEET_FIELDS)[number];

/**
 * This process's counters of one cache, and the event stream for metrics. Counting is a field
 * increment, and events are prebuilt constants sent only when someone listens, so the hot
 * path neither allocates nor touches Redis; {@link deltas} hands what changed since the last
 * call to the fleet statistics flusher.
 */
export class CacheStats {
  readonly #name: string;
  readonly #counts: Record<CounterName, number> = {
    l1Hits: 0,
    l2Hits: 0,
    misses: 0,
    staleHits: 0,
    refreshes: 0,
    refreshErrors: 0,
    invalidations: 0,
    invalidationsReceived: 0,
    sets: 0,
    ackTimeouts: 0,
    fleetWaits: 0,
  };
  readonly #flushed: Record<FleetField, number> = Object.fromEntries(FLEET_FIELDS.map((field) => [field, 0])) as Record<
    FleetField,
    number
  >;
  readonly #listeners = new Set<Listener>();
  readonly #events: Readonly<Record<string, CacheEvent>>;

  constructor(name: string) {
    this.#name = name;
    const event = (type: string, tier?: 'l1' | 'l2'): CacheEvent =>
      Object.freeze({ cache: name, type, ...(tier ? { tier } : {}) }) as CacheEvent;
    this.#events = Object.freeze({
      hitl1: event('hit', 'l1'),
      hitl2: event('hit', 'l2'),
      stalel1: event('stale', 'l1'),
      stalel2: event('stale', 'l2'),
      miss: event('miss'),
      set: event('set'),
      refresh: event('refresh'),
      refreshError: event('refreshError'),
      invalidation: event('invalidation'),
      ackTimeout: event('ackTimeout'),
    });
  }

  /** Counts a hit, fresh or stale, from one tier. */
  hit(tier: 'l1' | 'l2', stale: boolean): void {
    if (tier === 'l1') this.#counts.l1Hits++;
    else this.#counts.l2Hits++;
    if (stale) this.#counts.staleHits++;
    if (this.#listeners.size) this.#emit((stale ? 'stale' : 'hit') + tier);
  }

  /** Counts lookups that found nothing. */
  miss(count = 1): void {
    this.#counts.misses += count;
    this.#emitTimes('miss', count);
  }

  /** Counts entries written. */
  set(count = 1): void {
    this.#counts.sets += count;
    this.#emitTimes('set', count);
  }

  /** Counts keys deleted or tags invalidated by this process. */
  invalidation(count = 1): void {
    this.#counts.invalidations += count;
    this.#emitTimes('invalidation', count);
  }

  /** Counts a peer's invalidation applied here. */
  invalidationReceived(): void {
    this.#counts.invalidationsReceived++;
  }

  /** Counts a background refresh started by this process. */
  refresh(): void {
    this.#counts.refreshes++;
    this.#emitTimes('refresh', 1);
  }

  /** Counts a background refresh that threw. */
  refreshError(): void {
    this.#counts.refreshErrors++;
    this.#emitTimes('refreshError', 1);
  }

  /** Counts a write that gave up waiting for acknowledgements. */
  ackTimeout(): void {
    this.#counts.ackTimeouts++;
    this.#emitTimes('ackTimeout', 1);
  }

  /** Counts a fleet single-flight wait for another process's value. */
  fleetWait(): void {
    this.#counts.fleetWaits++;
  }

  /** Calls `listener` for every event until the returned function is called. */
  onEvent(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The counters since the cache was created. */
  snapshot(l1Entries: number, l1Bytes: number): CacheStatsSnapshot {
    const counts = this.#counts;
    return { name: this.#name, hits: counts.l1Hits + counts.l2Hits, ...counts, l1Entries, l1Bytes };
  }

  /** What the fleet fields grew by since the last call (zero fields left out), marked as taken. */
  deltas(): Partial<Record<FleetField, number>> {
    const counts = this.#counts;
    const now: Record<FleetField, number> = {
      hits: counts.l1Hits + counts.l2Hits,
      l1Hits: counts.l1Hits,
      l2Hits: counts.l2Hits,
      misses: counts.misses,
      staleHits: counts.staleHits,
      refreshes: counts.refreshes,
      invalidations: counts.invalidations,
      sets: counts.sets,
      ackTimeouts: counts.ackTimeouts,
    };
    const out: Partial<Record<FleetField, number>> = {};
    for (const field of FLEET_FIELDS) {
      const delta = now[field] - this.#flushed[field];
      if (delta !== 0) out[field] = delta;
      this.#flushed[field] = now[field];
    }
    return out;
  }

  /** Gives back deltas that could not be written, so the next call includes them again. */
  restore(deltas: Partial<Record<FleetField, number>>): void {
    for (const field of FLEET_FIELDS) this.#flushed[field] -= deltas[field] ?? 0;
  }

  #emitTimes(name: string, count: number): void {
    if (this.#listeners.size) for (let i = 0; i < count; i++) this.#emit(name);
  }

  #emit(name: string): void {
    const event = this.#events[name];
    if (!event) return;
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A metrics listener must not break a cache read or write.
      }
    }
  }
}
