import type { RedisClient, SharedSubscriber, Subscription } from '@flotilla/redis';
import { isTimed } from './profile-kind.js';
import { ProfileStore } from './profile-store.js';
import { recordProfile } from './record-profile.js';
import { CHUNK_BYTES, RESULT_TTL_MS } from './profile-timing.js';

/** Where the agent reports what goes wrong; pino's logger fits. */
export interface AgentLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface ProfileAgentOptions {
  /** Command connection to the Redis the profiles travel through (the cache Redis). */
  readonly redis: RedisClient;
  /** The process's pub/sub connection to that same Redis. */
  readonly subscriber: SharedSubscriber;
  /** Key and channel prefix, the same for every process of the fleet. */
  readonly prefix: string;
  /** This process's fleet member id: the name the dashboard and CLI ask for. */
  readonly processId: string;
  /** The largest profile handed back, in bytes. */
  readonly maxBytes: number;
  readonly logger: AgentLogger;
}

/** The span of the last heap snapshot, during which this process answered nothing. */
export interface Pause {
  readonly startedAt: number;
  readonly endedAt: number;
}

/**
 * Runs in every web and worker process: hears profile requests addressed to this process,
 * records them with the inspector while the process goes on serving, and hands the file back
 * through Redis in chunks that expire shortly after. One profile at a time.
 */
export class ProfileAgent {
  readonly #options: ProfileAgentOptions;
  readonly #store: ProfileStore;
  readonly #stopping = new AbortController();
  #subscription: Subscription | undefined;
  #current: Promise<void> | undefined;
  #lastPause: Pause | undefined;

  private constructor(options: ProfileAgentOptions) {
    this.#options = options;
    this.#store = new ProfileStore(options.redis, options.prefix);
  }

  /** Starts listening; resolves once the subscription is confirmed. */
  static async start(options: ProfileAgentOptions): Promise<ProfileAgent> {
    const agent = new ProfileAgent(options);
    agent.#subscription = await options.subscriber.subscribe([agent.#store.channel(options.processId)], {
      message: (_channel, id) => agent.#take(id),
    });
    return agent;
  }

  /** The last heap snapshot's pause, so health checks do not mistake it for a hung process. */
  get lastPause(): Pause | undefined {
    return this.#lastPause;
  }

  /** Stops listening and ends a recording in progress (which still hands back what it has). */
  async close(): Promise<void> {
    this.#stopping.abort();
    await this.#subscription?.close();
    await this.#current;
  }

  #take(id: string): void {
    if (this.#current) {
      // The web's busy mark makes this rare: a mark that expired while a profile still ran.
      void this.#store
        .update(id, { state: 'failed', error: 'this process is already recording a profile' })
        .catch(() => undefined);
      return;
    }
    const current = this.#run(id).finally(() => {
      this.#current = undefined;
    });
    this.#current = current;
  }

  async #run(id: string): Promise<void> {
    const { logger, processId, maxBytes } = this.#options;
    const store = this.#store;
    try {
      const record = await store.read(id);
      if (record?.state !== 'requested' || record.process !== processId) return;
      const startedAt = Date.now();
      await store.update(id, { state: 'recording', startedAt });
      logger.info({ profile: id, kind: record.kind, seconds: record.seconds }, 'recording a profile');
      const profile = await recordProfile(record.kind, record.seconds, maxBytes, this.#stopping.signal);
      const recordedAt = Date.now();
      if (!isTimed(record.kind)) this.#lastPause = { startedAt, endedAt: recordedAt };
      await store.update(id, { state: 'uploading', bytes: profile.bytes, uploadedBytes: 0, progressAt: Date.now() });
      const chunks = rechunk(profile.pieces, CHUNK_BYTES);
      let uploaded = 0;
      for (const [index, chunk] of chunks.entries()) {
        // Long enough to outlive the rest of the upload; finish() then sets the result's lifetime.
        await store.writeChunk(id, index, chunk, RESULT_TTL_MS * 2);
        uploaded += chunk.length;
        await store.update(id, { uploadedBytes: uploaded, progressAt: Date.now() });
      }
      await store.finish(id, chunks.length, RESULT_TTL_MS);
      logger.info(
        { profile: id, kind: record.kind, bytes: profile.bytes, recordingMs: recordedAt - startedAt },
        'profile handed back',
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.warn({ profile: id, err: message }, 'profiling failed');
      await store.update(id, { state: 'failed', error: message }).catch(() => undefined);
    } finally {
      await store.release(processId, id).catch(() => undefined);
    }
  }
}

/** The pieces regrouped into chunks of `size` bytes (the last one shorter). */
function rechunk(pieces: readonly Buffer[], size: number): Buffer[] {
  const whole = Buffer.concat(pieces);
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < whole.length; offset += size) chunks.push(whole.subarray(offset, offset + size));
  return chunks;
}
