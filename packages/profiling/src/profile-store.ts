import { LuaScript, type RedisClient } from '@flotilla/redis';
import type { ProfileKind } from './profile-kind.js';

/** Where a profile is on its way from the request to the download. */
export type ProfileState = 'requested' | 'recording' | 'uploading' | 'done' | 'failed';

/** A profile's record as both ends write it (epoch ms for times). */
export interface ProfileRecord {
  readonly id: string;
  readonly process: string;
  readonly kind: ProfileKind;
  /** How long a timed kind records; 0 for a heap snapshot. */
  readonly seconds: number;
  readonly state: ProfileState;
  readonly fileName: string;
  readonly requestedAt: number;
  readonly startedAt?: number;
  /** Last sign of life from the recording process while it uploads. */
  readonly progressAt?: number;
  readonly bytes?: number;
  readonly uploadedBytes?: number;
  readonly chunks?: number;
  readonly error?: string;
}

type RecordUpdate = Partial<Omit<ProfileRecord, 'id' | 'process' | 'kind' | 'seconds' | 'fileName' | 'requestedAt'>>;

const NUMBERS = ['seconds', 'requestedAt', 'startedAt', 'progressAt', 'bytes', 'uploadedBytes', 'chunks'] as const;

// Deletes the process's busy mark only if it is still this profile's, as a lock's owner releases it.
const releaseScript = new LuaScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

// Only while the record exists: a late write must not bring back an expired profile, partly and forever.
const updateScript =
  new LuaScript(`if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], unpack(ARGV)) end
return 0`);

/**
 * The Redis side of profiling, shared by the process that records and the web that asks: a hash
 * per profile and its file in numbered chunks (all under the profile's hash tag), a busy mark
 * per process, and a channel per process on which requests are announced.
 */
export class ProfileStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  /** The channel on which `processId` hears the ids of profiles asked of it. */
  channel(processId: string): string {
    return `${this.prefix}profiler:${processId}`;
  }

  /** Marks `processId` busy with profile `id` for `ms`; false when another profile holds it. */
  async claim(processId: string, id: string, ms: number): Promise<boolean> {
    return (await this.redis.set(this.busyKey(processId), id, 'PX', ms, 'NX')) === 'OK';
  }

  async release(processId: string, id: string): Promise<void> {
    await releaseScript.run(this.redis, [this.busyKey(processId)], [id]);
  }

  async create(record: ProfileRecord, ttlMs: number): Promise<void> {
    const key = this.recordKey(record.id);
    await this.redis.multi().hset(key, encode(record)).pexpire(key, ttlMs).exec();
  }

  /** Tells the process; resolves to how many processes heard it (0: it is not listening). */
  announce(processId: string, id: string): Promise<number> {
    return this.redis.publish(this.channel(processId), id);
  }

  async read(id: string): Promise<ProfileRecord | undefined> {
    const fields = await this.redis.hgetall(this.recordKey(id));
    return fields['id'] === undefined ? undefined : decode(fields);
  }

  async update(id: string, update: RecordUpdate): Promise<void> {
    await updateScript.run(this.redis, [this.recordKey(id)], Object.entries(encode(update)).flat());
  }

  async writeChunk(id: string, index: number, bytes: Buffer, ttlMs: number): Promise<void> {
    await this.redis.set(this.chunkKey(id, index), bytes, 'PX', ttlMs);
  }

  readChunk(id: string, index: number): Promise<Buffer | null> {
    return this.redis.getBuffer(this.chunkKey(id, index));
  }

  /** Marks the profile done and gives the record and its chunks the same remaining life. */
  async finish(id: string, chunks: number, ttlMs: number): Promise<void> {
    const transaction = this.redis
      .multi()
      .hset(this.recordKey(id), encode({ state: 'done', chunks, progressAt: Date.now() }))
      .pexpire(this.recordKey(id), ttlMs);
    for (let index = 0; index < chunks; index++) transaction.pexpire(this.chunkKey(id, index), ttlMs);
    await transaction.exec();
  }

  async remove(id: string, chunks = 0): Promise<void> {
    await this.redis.del(this.recordKey(id), ...Array.from({ length: chunks }, (_, index) => this.chunkKey(id, index)));
  }

  private busyKey(processId: string): string {
    return `${this.prefix}profiler-busy:${processId}`;
  }

  private recordKey(id: string): string {
    return `${this.prefix}profile:{${id}}`;
  }

  private chunkKey(id: string, index: number): string {
    return `${this.prefix}profile:{${id}}:${index}`;
  }
}

function encode(fields: RecordUpdate | ProfileRecord): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => [name, String(value)]),
  );
}

function decode(fields: Record<string, string>): ProfileRecord {
  const record: Record<string, string | number> = { ...fields };
  for (const name of NUMBERS) {
    if (fields[name] !== undefined) record[name] = Number(fields[name]);
  }
  return record as unknown as ProfileRecord;
}
