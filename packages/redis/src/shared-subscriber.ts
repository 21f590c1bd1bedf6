import type { EventEmitter } from 'node:events';
import { isReachable } from './redis-availability.js';
import type { RedisClient } from './redis-connection-options.js';

/** What one subscription is told. */
export interface SubscriptionHandlers {
  /** A message on one of the subscription's channels. */
  message(channel: string, payload: string): void;
  /**
   * After the subscription was confirmed: the connection was lost (false: messages may be
   * missed from now on), or all channels are confirmed subscribed again (true).
   */
  liveChange?(live: boolean): void;
}

/** Channels subscribed through a {@link SharedSubscriber}. */
export interface Subscription {
  /** Whether messages are being received right now. */
  readonly live: boolean;
  /** Stops delivery and unsubscribes the channels nobody else listens to. Idempotent. */
  close(): Promise<void>;
}

interface Listener {
  readonly channels: readonly string[];
  readonly handlers: SubscriptionHandlers;
  /** Set once its subscription is confirmed: changes are reported from then on. */
  active: boolean;
}

/**
 * One pub/sub connection that every feature of a process subscribes through (cache
 * invalidation, membership announcements…), so a process holds one subscriber connection per
 * Redis server however many features listen. It routes each message to the listeners of its
 * channel, subscribes a channel while anyone listens to it, and tells every listener when the
 * connection is lost and when its channels are confirmed subscribed again.
 * Hand-written: ioredis delivers every channel of a connection to one 'message' event and
 * resubscribes silently, and no library routes channels to owners or reports liveness.
 * The connection (role `subscriber`) stays its creator's to close.
 */
export class SharedSubscriber {
  readonly #client: RedisClient;
  readonly #listeners = new Map<string, Set<Listener>>();
  #live = false;
  // Counts losses, so a confirmation sent before a loss cannot mark the connection live after it.
  #epoch = 0;

  constructor(client: RedisClient) {
    this.#client = client;
    const events: EventEmitter = client;
    events.on('message', (channel: string, payload: string) => this.#deliver(channel, payload));
    events.on('close', () => this.#lost());
    events.on('end', () => this.#lost());
    // ioredis resubscribes by itself on reconnect; subscribing again and awaiting the reply is
    // how to learn that the channels are live once more.
    events.on('ready', () => void this.#confirm());
  }

  /** Whether the connection is up with every channel confirmed subscribed. */
  get live(): boolean {
    return this.#live;
  }

  /**
   * Whether Redis answers a PING on this connection within `timeoutMs`. A probe that never
   * waits behind other commands (a subscriber sends none), so it tells a Redis that stopped
   * answering from one that is only slow to serve a command connection's backlog.
   */
  async reachable(timeoutMs?: number): Promise<boolean> {
    return await isReachable(this.#client, timeoutMs);
  }

  /** The channels subscribed now, for tests and diagnostics. */
  channels(): string[] {
    return [...this.#listeners.keys()];
  }

  /**
   * Delivers the messages of `channels` to `handlers` from now on; resolves once Redis has
   * confirmed the subscription (rejects, subscribing nothing, when it cannot).
   */
  async subscribe(channels: readonly string[], handlers: SubscriptionHandlers): Promise<Subscription> {
    const unique = [...new Set(channels)];
    if (unique.length === 0) throw new TypeError('subscribe needs at least one channel');
    const listener: Listener = { channels: unique, handlers, active: false };
    const fresh = unique.filter((channel) => !this.#listeners.has(channel));
    for (const channel of unique) {
      let set = this.#listeners.get(channel);
      if (!set) this.#listeners.set(channel, (set = new Set()));
      set.add(listener);
    }
    const epoch = this.#epoch;
    try {
      // Channels already subscribed for another listener need no round trip.
      if (fresh.length > 0) await this.#client.subscribe(...fresh);
    } catch (error) {
      await this.#remove(listener);
      throw error;
    }
    this.#markLive(epoch);
    listener.active = true;
    let closed = false;
    const live = (): boolean => !closed && this.#live;
    return {
      get live() {
        return live();
      },
      close: async () => {
        if (closed) return;
        closed = true;
        await this.#remove(listener);
      },
    };
  }

  async #remove(listener: Listener): Promise<void> {
    const idle: string[] = [];
    for (const channel of listener.channels) {
      const set = this.#listeners.get(channel);
      if (!set?.delete(listener) || set.size > 0) continue;
      this.#listeners.delete(channel);
      idle.push(channel);
    }
    if (idle.length === 0 || this.#client.status !== 'ready') return;
    // A failure leaves a channel nobody routes: its messages are dropped, which is harmless.
    await this.#client.unsubscribe(...idle).catch(() => undefined);
  }

  #deliver(channel: string, payload: string): void {
    const set = this.#listeners.get(channel);
    if (set) for (const listener of [...set]) listener.handlers.message(channel, payload);
  }

  #lost(): void {
    this.#epoch++;
    if (!this.#live) return;
    this.#live = false;
    this.#tellAll(false);
  }

  async #confirm(): Promise<void> {
    const epoch = this.#epoch;
    const channels = this.channels();
    try {
      if (channels.length > 0) await this.#client.subscribe(...channels);
    } catch {
      // The connection went again; its next 'ready' confirms.
      return;
    }
    this.#markLive(epoch);
  }

  // Every subscription sent since the last loss was confirmed: no loss came in between.
  #markLive(epoch: number): void {
    if (epoch !== this.#epoch || this.#live || this.#client.status !== 'ready') return;
    this.#live = true;
    this.#tellAll(true);
  }

  #tellAll(live: boolean): void {
    const listeners = new Set<Listener>();
    for (const set of this.#listeners.values()) for (const listener of set) listeners.add(listener);
    for (const listener of listeners) if (listener.active) listener.handlers.liveChange?.(live);
  }
}
