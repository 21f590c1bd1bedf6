import { randomBytes } from 'node:crypto';
import type { RedisClient, SharedSubscriber, Subscription } from '@flotilla/redis';
import type { CacheKeys } from './cache-keys.js';

/** What the bus tells its cache. */
export interface InvalidationHandlers {
  /** A peer changed these keys or invalidated these tags: drop them from L1. */
  onInvalidate(keys: readonly string[], tags: readonly string[]): void;
  /** The subscription is (again) live, or lost: while lost, messages may be missed. */
  onConnectionChange(up: boolean): void;
  /** A write stopped waiting for acknowledgements. */
  onAckTimeout(): void;
}

/** Everything an {@link InvalidationBus} needs. */
export interface InvalidationBusOptions {
  /** Command connection, used to publish acknowledgements; not closed by the bus. */
  readonly redis: RedisClient;
  /** The process's pub/sub connection to the cache Redis; the bus only subscribes through it. */
  readonly subscriber: SharedSubscriber;
  readonly keys: CacheKeys;
  readonly ackTimeoutMs: number;
  readonly handlers: InvalidationHandlers;
}

/** One invalidation about to be published: its id and the payload the write script publishes. */
export interface OutgoingInvalidation {
  readonly id: string;
  readonly payload: string;
  /**
   * The payload for a part of it (the keys of one key group), under the same id: every part
   * published is acknowledged on its own, and {@link InvalidationBus.settle} waits for them all.
   */
  payloadFor(keys: readonly string[], tags: readonly string[]): string;
}

// i: message id (absent when no acknowledgement is wanted), f: sender, k: keys, t: tags,
// u: a key whose fleet lock was released.
interface Message {
  readonly i?: string;
  readonly f: string;
  readonly k?: string[];
  readonly t?: string[];
  readonly u?: string;
}

interface PendingAck {
  acks: number;
  needed: number;
  resolve?: () => void;
  timer?: NodeJS.Timeout;
}

/**
 * Keeps every instance's L1 coherent. A write publishes a message naming the keys or tags it
 * changed; each other instance drops them from its L1 and acknowledges on the writer's reply
 * channel; the writer resolves once as many acknowledgements arrived as PUBLISH counted
 * receivers (its own delivery counting as one, no round trip), or after `ackTimeoutMs`.
 * Hand-written: Redis pub/sub delivers but does not confirm, and no library adds the confirmation.
 */
export class InvalidationBus {
  /** Identifies this instance in messages and names its reply channel. */
  readonly instanceId = randomBytes(8).toString('hex');
  readonly #options: InvalidationBusOptions;
  readonly #ackChannel: string;
  readonly #pending = new Map<string, PendingAck>();
  readonly #watchers = new Map<string, Set<() => void>>();
  #nextId = 0;
  #subscription: Subscription | undefined;
  #closed = false;

  private constructor(options: InvalidationBusOptions) {
    this.#options = options;
    this.#ackChannel = options.keys.ackChannel(this.instanceId);
  }

  /** Subscribes, and resolves once the subscription is live. */
  static async start(options: InvalidationBusOptions): Promise<InvalidationBus> {
    const bus = new InvalidationBus(options);
    bus.#subscription = await options.subscriber.subscribe([options.keys.channel, bus.#ackChannel], {
      message: (channel, text) => bus.#receive(channel, text),
      liveChange: (live) => bus.#liveChange(live),
    });
    return bus;
  }

  /** Whether messages are being received right now. */
  get up(): boolean {
    return !this.#closed && this.#subscription?.live === true;
  }

  /** Prepares a message about changed keys or invalidated tags; settle or abandon it. */
  begin(keys: readonly string[], tags: readonly string[]): OutgoingInvalidation {
    const id = (this.#nextId++).toString(36);
    this.#pending.set(id, { acks: 0, needed: Number.POSITIVE_INFINITY });
    const payloadFor = (partKeys: readonly string[], partTags: readonly string[]): string =>
      JSON.stringify({
        i: id,
        f: this.instanceId,
        ...(partKeys.length ? { k: [...partKeys] } : {}),
        ...(partTags.length ? { t: [...partTags] } : {}),
      } satisfies Message);
    return { id, payload: payloadFor(keys, tags), payloadFor };
  }

  /**
   * Waits until `receivers` acknowledgements arrived or `ackTimeoutMs` passed: the sum of what
   * PUBLISH counted for each part published.
   */
  async settle(id: string, receivers: number): Promise<void> {
    const pending = this.#pending.get(id);
    if (!pending) return;
    pending.needed = receivers;
    if (pending.acks >= receivers) {
      this.#pending.delete(id);
      return;
    }
    await new Promise<void>((resolve) => {
      pending.resolve = resolve;
      pending.timer = setTimeout(() => {
        this.#pending.delete(id);
        this.#options.handlers.onAckTimeout();
        resolve();
      }, this.#options.ackTimeoutMs);
    });
  }

  /** Forgets a message whose publication failed. */
  abandon(id: string): void {
    this.#pending.delete(id);
  }

  /** The payload announcing that a fleet lock was released; it wants no acknowledgement. */
  unlockMessage(key: string): string {
    return JSON.stringify({ f: this.instanceId, u: key } satisfies Message);
  }

  /**
   * Resolves true when a message about `key` (a write, a delete, a released lock) arrives or
   * the subscription is lost, false after `timeoutMs`.
   */
  watch(key: string, timeoutMs: number): { readonly fired: Promise<boolean>; cancel(): void } {
    let set = this.#watchers.get(key);
    if (!set) this.#watchers.set(key, (set = new Set()));
    const watchers = set;
    let wake: () => void = () => {};
    let timer: NodeJS.Timeout | undefined;
    const cancel = (): void => {
      clearTimeout(timer);
      watchers.delete(wake);
      if (watchers.size === 0 && this.#watchers.get(key) === watchers) this.#watchers.delete(key);
    };
    const fired = new Promise<boolean>((resolve) => {
      wake = () => {
        cancel();
        resolve(true);
      };
      timer = setTimeout(() => {
        cancel();
        resolve(false);
      }, timeoutMs);
    });
    watchers.add(wake);
    if (!this.up) wake();
    return { fired, cancel };
  }

  /** Unsubscribes and releases every waiter. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#pending.keys()]) this.#finish(id);
    this.#wakeAll();
    await this.#subscription?.close();
  }

  #receive(channel: string, text: string): void {
    if (this.#closed) return;
    if (channel === this.#ackChannel) {
      this.#acknowledged(text);
      return;
    }
    if (channel !== this.#options.keys.channel) return;
    let message: Message;
    try {
      message = JSON.parse(text) as Message;
    } catch {
      return;
    }
    if (message.f === this.instanceId) {
      // This instance updated its own L1 before publishing; its delivery is its acknowledgement.
      if (message.i !== undefined) this.#acknowledged(message.i);
    } else if (message.i !== undefined) {
      this.#options.handlers.onInvalidate(message.k ?? [], message.t ?? []);
      this.#options.redis.publish(this.#options.keys.ackChannel(message.f), message.i).catch(() => {});
    }
    for (const key of message.k ?? []) this.#wake(key);
    if (message.u !== undefined) this.#wake(message.u);
  }

  #acknowledged(id: string): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    pending.acks++;
    if (pending.acks >= pending.needed) this.#finish(id);
  }

  #finish(id: string): void {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    clearTimeout(pending?.timer);
    pending?.resolve?.();
  }

  #wake(key: string): void {
    const watchers = this.#watchers.get(key);
    if (watchers) for (const wake of [...watchers]) wake();
  }

  #wakeAll(): void {
    for (const watchers of [...this.#watchers.values()]) for (const wake of [...watchers]) wake();
  }

  #liveChange(live: boolean): void {
    if (this.#closed) return;
    this.#options.handlers.onConnectionChange(live);
    // Messages may be missed from now on: nobody should wait for one.
    if (!live) this.#wakeAll();
  }
}
