import type { RedisClient } from './redis-connection-options.js';
import { WriteNotDurableError } from './write-not-durable-error.js';

/**
 * How a reply is known to follow the write to disk: `waitaof` asks the server after the writes
 * (WAITAOF 1 0, Redis ≥ 7.2); `appendfsync-always` relies on a server that fsyncs its
 * append-only file before it answers any write (older servers, verified through CONFIG GET).
 */
export type AofDurabilityMode = 'waitaof' | 'appendfsync-always';

const WAITAOF_SINCE: readonly [number, number] = [7, 2];
const DEFAULT_WAIT_MS = 2000;

/**
 * Makes writes on one connection durable: {@link write} resolves only once they are in Redis's
 * append-only file on disk, so a reply built on them survives a crash of Redis or of its host.
 * Detected once and again after every reconnect (a restarted or failed-over server may be
 * configured otherwise); until a detection succeeds, writes are refused with a
 * {@link WriteNotDurableError}.
 */
export class AofDurability {
  #detection: Promise<AofDurabilityMode>;
  // Counts reconnects: WAITAOF covers only the writes of the current connection.
  #generation = 0;

  private constructor(
    private readonly client: RedisClient,
    private readonly waitMs: number,
    first: Promise<AofDurabilityMode>,
  ) {
    this.#detection = first;
    client.on('ready', () => {
      this.#generation++;
      this.#detection = detectMode(client);
      // Reported through write(); without a handler a failure would be an unhandled rejection.
      this.#detection.catch(() => undefined);
    });
  }

  /**
   * Checks that the server can make writes durable and how; throws a {@link WriteNotDurableError}
   * naming what is missing (AOF off, `appendfsync` not `always` before 7.2, CONFIG disabled, Cluster).
   */
  static async detect(client: RedisClient, waitMs = DEFAULT_WAIT_MS): Promise<AofDurability> {
    const first = detectMode(client);
    await first;
    return new AofDurability(client, waitMs, first);
  }

  /** The mode found by the last detection. */
  async mode(): Promise<AofDurabilityMode> {
    return await this.#detection;
  }

  /**
   * Runs `run`, whose writes must go over this connection, and resolves with its result once
   * they are on disk. Refuses with a {@link WriteNotDurableError} before running it when the
   * server cannot promise durability now, and after it when the fsync is not confirmed (the
   * writes happened but may not survive a crash: retry idempotently).
   */
  async write<T>(run: () => Promise<T>): Promise<T> {
    const mode = await this.currentMode();
    const generation = this.#generation;
    const result = await run();
    // With appendfsync always every reply came after its fsync.
    if (mode === 'waitaof') await this.waitAof(generation);
    return result;
  }

  private async currentMode(): Promise<AofDurabilityMode> {
    try {
      return await this.#detection;
    } catch (error) {
      if (error instanceof WriteNotDurableError) throw error;
      throw new WriteNotDurableError(`could not check the durability settings of Redis: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  private async waitAof(generation: number): Promise<void> {
    // A WAITAOF on a new connection would not cover writes sent on the one before.
    if (generation !== this.#generation)
      throw new WriteNotDurableError('the connection to Redis was replaced before the write could be confirmed');
    let reply: unknown;
    try {
      reply = await this.client.call('WAITAOF', '1', '0', String(this.waitMs));
    } catch (error) {
      throw new WriteNotDurableError(`WAITAOF failed: ${(error as Error).message}`, { cause: error });
    }
    const local = Array.isArray(reply) ? Number(reply[0]) : 0;
    if (!(local >= 1))
      throw new WriteNotDurableError(`the write was not fsynced to the append-only file within ${this.waitMs} ms`);
  }
}

async function detectMode(client: RedisClient): Promise<AofDurabilityMode> {
  // WAITAOF and CONFIG go to one arbitrary node of a cluster, which says nothing about the
  // node that holds the job.
  if (client.isCluster) throw new WriteNotDurableError('durable writes are not supported on Redis Cluster');
  const server = await client.info('server');
  const persistence = await client.info('persistence');
  if (!/^aof_enabled:1\r?$/m.test(persistence)) {
    throw new WriteNotDurableError('the Redis server does not write an append-only file (set appendonly yes)');
  }
  const version = /^redis_version:(\d+)\.(\d+)/m.exec(server);
  const major = Number(version?.[1] ?? 0);
  const minor = Number(version?.[2] ?? 0);
  if (major > WAITAOF_SINCE[0] || (major === WAITAOF_SINCE[0] && minor >= WAITAOF_SINCE[1])) return 'waitaof';
  let fsync: unknown;
  try {
    fsync = await client.config('GET', 'appendfsync');
  } catch (error) {
    throw new WriteNotDurableError(
      `Redis ${major}.${minor} has no WAITAOF and CONFIG GET appendfsync failed, so durability cannot be verified`,
      { cause: error },
    );
  }
  const value = Array.isArray(fsync) ? String((fsync as unknown[])[1]) : '';
  if (value !== 'always') {
    throw new WriteNotDurableError(
      `Redis ${major}.${minor} has no WAITAOF (7.2+) and its appendfsync is ${value || 'unknown'}; set appendfsync always`,
    );
  }
  return 'appendfsync-always';
}
