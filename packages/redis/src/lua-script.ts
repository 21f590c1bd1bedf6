import { createHash } from 'node:crypto';
import type { ChainableCommander, Cluster } from 'ioredis';
import type { RedisClient } from './redis-connection-options.js';

/** One argument of a script call. */
export type ScriptArgument = string | Buffer | number;

/**
 * A Lua script run by its SHA (EVALSHA), falling back to EVAL when the server does not know it
 * (restart, failover, SCRIPT FLUSH). By hand rather than ioredis `defineCommand`, which would
 * add untyped methods to connections the caller does not own.
 */
export class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * Loads the script so the first EVALSHA finds it, on every master of a Cluster (whose
   * keyless commands reach one node only); best effort, EVAL covers a failure.
   */
  async preload(client: RedisClient): Promise<void> {
    const nodes = client.isCluster ? (client as Cluster).nodes('master') : [client];
    await Promise.all(nodes.map((node) => node.call('SCRIPT', 'LOAD', this.#source).catch(() => undefined)));
  }

  /** Runs the script with binary-safe replies (bulk strings come back as Buffers). */
  async run(client: RedisClient, keys: readonly string[], args: readonly ScriptArgument[]): Promise<unknown> {
    try {
      return await client.callBuffer('EVALSHA', this.#sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return await client.callBuffer('EVAL', this.#source, keys.length, ...keys, ...args);
    }
  }

  /**
   * Adds an EVALSHA of the script to a pipeline. There is no EVAL fallback inside a pipeline:
   * a NOSCRIPT reply is the caller's to retry with {@link run}.
   */
  queue(pipeline: ChainableCommander, keys: readonly string[], args: readonly ScriptArgument[]): void {
    pipeline.callBuffer('EVALSHA', this.#sha, keys.length, ...keys, ...args);
  }
}
