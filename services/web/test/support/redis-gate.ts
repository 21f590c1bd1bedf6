import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import RedisParser from 'redis-parser';

export interface RedisGateOptions {
  /** The connections to gate, by their CLIENT SETNAME name. */
  readonly gated: RegExp;
  /** Commands (lower-case names) that pass even when gated: a process's own periodic reads. */
  readonly passes?: (command: string) => boolean;
}

/** One gated connection: what it has sent that Redis has not answered yet. */
interface Pending {
  /** Per command sent, in order: whether it belongs to a round trip the gate counts. */
  readonly counted: boolean[];
  inRound: number;
}

/**
 * A TCP proxy in front of Redis that can stop a connection at its n-th round trip: a test
 * stops a request at each of its Redis reads in turn, and so reaches every await of its handler
 * by design rather than by timing. A round trip begins with a command sent while nothing the
 * gate counts is awaiting a reply: commands sent together (a pipeline, a Promise.all) are one
 * await of the handler and one round trip. Only connections whose CLIENT SETNAME name matches
 * are gated; the others pass through untouched.
 */
export class RedisGate {
  readonly #server: Server;
  readonly #target: URL;
  readonly #options: RedisGateOptions;
  readonly #sockets = new Set<Socket>();
  readonly #held: { to: Socket; pending: Pending; command: Buffer[] }[] = [];
  #roundsLeft = Infinity;
  #onHold: (() => void) | undefined;
  #lastGatedAt = 0;

  private constructor(server: Server, target: URL, options: RedisGateOptions) {
    this.#server = server;
    this.#target = target;
    this.#options = options;
  }

  /** Listens on a free loopback port in front of the Redis at `redisUrl`. */
  static async start(redisUrl: string, options: RedisGateOptions): Promise<RedisGate> {
    const server = createServer();
    const gate = new RedisGate(server, new URL(redisUrl), options);
    server.on('connection', (client) => gate.#proxy(client));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return gate;
  }

  /** The URL to give the process under test instead of Redis's own. */
  get url(): string {
    const url = new URL(this.#target);
    url.port = String((this.#server.address() as AddressInfo).port);
    return url.toString();
  }

  /** Lets the next `count` round trips through, then holds every later command until {@link release}. */
  holdAfter(count: number): void {
    this.#roundsLeft = count;
  }

  /** The first held command and its key (`HGETALL q:job`), or undefined when none was held within `ms`. */
  async heldWithin(ms: number): Promise<string | undefined> {
    if (this.#held.length === 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#onHold = resolve;
        timer = setTimeout(resolve, ms);
      });
      clearTimeout(timer);
      this.#onHold = undefined;
    }
    return this.#held[0]?.command.slice(0, 2).map(String).join(' ');
  }

  /** Resolves once no gated command has been sent for `ms`: the reads in progress have ended. */
  async quietFor(ms: number): Promise<void> {
    for (let wait = ms; wait > 0; wait = this.#lastGatedAt + ms - Date.now()) await sleep(wait);
  }

  /** Sends what was held, in order, and lets everything through from now on. */
  release(): void {
    this.#roundsLeft = Infinity;
    for (const { to, pending, command } of this.#held.splice(0)) this.#send(to, pending, command, true);
  }

  async close(): Promise<void> {
    this.release();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #proxy(client: Socket): void {
    const redis = createConnection({ host: this.#target.hostname, port: Number(this.#target.port) });
    this.#sockets.add(client).add(redis);
    const forget = (): void => {
      this.#sockets.delete(client);
      this.#sockets.delete(redis);
      client.destroy();
      redis.destroy();
    };
    client.on('close', forget).on('error', forget);
    redis.on('close', forget).on('error', forget);

    let gated = false;
    const pending: Pending = { counted: [], inRound: 0 };
    const answered = (): void => {
      // Pub/sub pushes answer no command; only gated command connections get here in practice.
      if (pending.counted.length > 0 && pending.counted.shift() === true) pending.inRound -= 1;
    };
    const replies = new RedisParser({ returnBuffers: true, returnReply: answered, returnError: answered });
    redis.on('data', (chunk: Buffer) => {
      replies.execute(chunk);
      client.write(chunk);
    });

    const commands = new RedisParser({
      returnBuffers: true,
      returnReply: (command: Buffer[]) => {
        const name = String(command[0]).toLowerCase();
        if (name === 'client' && String(command[1]).toLowerCase() === 'setname')
          gated = this.#options.gated.test(String(command[2]));
        // Passing a command ahead of held ones would pair Redis's replies with the wrong commands.
        const passes = !gated || (this.#options.passes?.(name) === true && this.#held.length === 0);
        if (passes) return this.#send(redis, pending, command, false);
        this.#lastGatedAt = Date.now();
        const startsRound = pending.inRound === 0;
        if (this.#held.length === 0 && (!startsRound || this.#roundsLeft > 0)) {
          if (startsRound) this.#roundsLeft -= 1;
          return this.#send(redis, pending, command, true);
        }
        this.#held.push({ to: redis, pending, command });
        this.#onHold?.();
      },
      returnError: (error) => client.destroy(error),
    });
    client.on('data', (chunk: Buffer) => commands.execute(chunk));
  }

  #send(to: Socket, pending: Pending, command: Buffer[], counted: boolean): void {
    pending.counted.push(counted);
    if (counted) pending.inRound += 1;
    to.write(encodeCommand(command));
  }
}

// redis-parser only reads RESP; writing a command back is a few lines.
function encodeCommand(parts: Buffer[]): Buffer {
  const chunks: Buffer[] = [Buffer.from(`*${parts.length}\r\n`)];
  for (const part of parts) chunks.push(Buffer.from(`$${part.length}\r\n`), part, Buffer.from('\r\n'));
  return Buffer.concat(chunks);
}
