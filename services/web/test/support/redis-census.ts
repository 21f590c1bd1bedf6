import { Redis } from 'ioredis';

/** One connection as CLIENT LIST shows it. */
export interface ClientEntry {
  readonly id: string;
  readonly name: string;
  readonly cmd: string;
}

// Flotilla's own connections, `flotilla:<service>:<pid>:<purpose>`, and BullMQ's blocking
// connections, named `<prefix>:<queue in base64>:w:<worker name>` with the worker name ending in the pid.
const FLOTILLA_NAME = /^flotilla:(?:web|worker):(\d+):[a-z0-9-]+$/;
const BULLMQ_WORKER_NAME = /:w:[^:]+:(\d+)$/;
const CENSUS_NAME = 'flotilla-test:census';

/** The process a connection belongs to, read from its name; undefined for a name of neither kind. */
export function pidOfConnection(name: string): number | undefined {
  const pid = FLOTILLA_NAME.exec(name)?.[1] ?? BULLMQ_WORKER_NAME.exec(name)?.[1];
  return pid === undefined ? undefined : Number(pid);
}

/**
 * Samples CLIENT LIST of one Redis server while a test runs, and keeps per process the most
 * connections it held at once, every name seen, and the connections that never had one.
 */
export class RedisCensus {
  readonly #redis: Redis;
  readonly #most = new Map<number, number>();
  readonly #names = new Map<number, Set<string>>();
  readonly #unnamed = new Set<string>();
  readonly #named = new Set<string>();
  readonly #foreign = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #sampling: Promise<void> = Promise.resolve();

  constructor(url: string) {
    this.#redis = new Redis(url, { connectionName: CENSUS_NAME, lazyConnect: false });
  }

  /** The connections other than the census's own, now. */
  async list(): Promise<ClientEntry[]> {
    const text = String(await this.#redis.client('LIST'));
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => ({
        id: /\bid=(\d+)/.exec(line)?.[1] ?? '',
        name: / name=(\S*)/.exec(line)?.[1] ?? '',
        cmd: / cmd=(\S*)/.exec(line)?.[1] ?? '',
      }))
      .filter((entry) => entry.name !== CENSUS_NAME);
  }

  /** Connections held now by each process. */
  async byProcess(): Promise<Map<number, ClientEntry[]>> {
    const held = new Map<number, ClientEntry[]>();
    for (const entry of await this.list()) {
      const pid = pidOfConnection(entry.name);
      if (pid !== undefined) held.set(pid, [...(held.get(pid) ?? []), entry]);
    }
    return held;
  }

  /** Samples every `intervalMs` until `stop`. */
  start(intervalMs = 20): void {
    const tick = (): void => {
      this.#sampling = this.#sample().finally(() => {
        if (this.#timer !== undefined) this.#timer = setTimeout(tick, intervalMs);
      });
    };
    this.#timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#sampling;
  }

  /** The most connections `pid` held at once in any sample. */
  most(pid: number): number {
    return this.#most.get(pid) ?? 0;
  }

  /** Every name `pid`'s connections had. */
  names(pid: number): string[] {
    return [...(this.#names.get(pid) ?? [])].sort();
  }

  /** Connections that were never seen with a name (a named one is briefly unnamed while it connects). */
  neverNamed(): string[] {
    return [...this.#unnamed].filter((id) => !this.#named.has(id));
  }

  /** Names seen that belong to no Flotilla process. */
  foreign(): string[] {
    return [...this.#foreign];
  }

  async close(): Promise<void> {
    await this.stop();
    await this.#redis.quit();
  }

  async #sample(): Promise<void> {
    const counts = new Map<number, number>();
    for (const entry of await this.list()) {
      if (entry.name === '') {
        this.#unnamed.add(entry.id);
        continue;
      }
      this.#named.add(entry.id);
      const pid = pidOfConnection(entry.name);
      if (pid === undefined) {
        this.#foreign.add(entry.name);
        continue;
      }
      counts.set(pid, (counts.get(pid) ?? 0) + 1);
      let names = this.#names.get(pid);
      if (!names) this.#names.set(pid, (names = new Set()));
      names.add(entry.name);
    }
    for (const [pid, count] of counts) this.#most.set(pid, Math.max(count, this.most(pid)));
  }
}
