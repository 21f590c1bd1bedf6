import { randomBytes } from 'node:crypto';
import type { RedisClient } from '@flotilla/redis';
import { isTimed, profileFileName, type ProfileKind } from './profile-kind.js';
import { ProfileStore, type ProfileRecord, type ProfileState } from './profile-store.js';
import { ACK_MS, RECORDING_GRACE_MS, RESULT_TTL_MS, SNAPSHOT_GRACE_MS, UPLOAD_SILENCE_MS } from './profile-timing.js';

/** Why a profile request was refused. */
export class ProfileRefusedError extends Error {
  override readonly name = 'ProfileRefusedError';
  constructor(
    readonly reason: 'profile-in-progress' | 'process-unreachable',
    message: string,
  ) {
    super(message);
  }
}

/** A profile as the admin API shows it. */
export interface ProfileStatus {
  readonly id: string;
  readonly process: string;
  readonly kind: ProfileKind;
  readonly seconds: number | null;
  readonly state: ProfileState;
  readonly requestedAt: string;
  readonly startedAt?: string;
  readonly bytes?: number;
  readonly uploadedBytes?: number;
  readonly error?: string;
  readonly fileName: string;
}

/** A finished profile's file, read from Redis chunk by chunk as it is sent. */
export interface ProfileFile {
  readonly fileName: string;
  readonly bytes: number;
  readonly chunks: AsyncIterable<Buffer>;
}

/**
 * The asking side, in the web: announces a request to the process, derives each profile's state
 * (including a process that stopped answering, so nobody waits on it forever) and reads the file
 * back. Every web replica can answer for every profile: all of it is in Redis.
 */
export class ProfileDesk {
  readonly #store: ProfileStore;

  constructor(redis: RedisClient, prefix: string) {
    this.#store = new ProfileStore(redis, prefix);
  }

  /** Asks `processId` for a profile; throws ProfileRefusedError when it is busy or not listening. */
  async request(processId: string, kind: ProfileKind, seconds: number): Promise<ProfileStatus> {
    const id = randomBytes(12).toString('base64url');
    const now = Date.now();
    const record: ProfileRecord = {
      id,
      process: processId,
      kind,
      seconds: isTimed(kind) ? seconds : 0,
      state: 'requested',
      fileName: profileFileName(processId, kind, new Date(now)),
      requestedAt: now,
    };
    const lifetimeMs = deadlineMs(record);
    if (!(await this.#store.claim(processId, id, lifetimeMs))) {
      throw new ProfileRefusedError(
        'profile-in-progress',
        `process ${processId} is already recording a profile; try again when it is done`,
      );
    }
    await this.#store.create(record, lifetimeMs + RESULT_TTL_MS);
    if ((await this.#store.announce(processId, id)) === 0) {
      await Promise.all([this.#store.remove(id), this.#store.release(processId, id)]);
      throw new ProfileRefusedError(
        'process-unreachable',
        `process ${processId} did not take the request: it is not listening (stopped, or a release without profiling)`,
      );
    }
    return view(record);
  }

  /** The profile's state now, or undefined once it expired (or never was). */
  async status(id: string): Promise<ProfileStatus | undefined> {
    const record = await this.#store.read(id);
    if (!record) return undefined;
    const silent = silence(record, Date.now());
    if (silent === undefined) return view(record);
    // The process will not release its mark: free the process for the next request now.
    await this.#store.release(record.process, id);
    return view({ ...record, state: 'failed', error: silent });
  }

  /** The file of a done profile; undefined while it is not done. */
  async file(id: string): Promise<ProfileFile | undefined> {
    const record = await this.#store.read(id);
    if (record?.state !== 'done') return undefined;
    const store = this.#store;
    const count = record.chunks ?? 0;
    return {
      fileName: record.fileName,
      bytes: record.bytes ?? 0,
      chunks: (async function* () {
        for (let index = 0; index < count; index++) {
          const chunk = await store.readChunk(id, index);
          if (chunk === null) throw new Error(`profile ${id} expired while it was being downloaded`);
          yield chunk;
        }
      })(),
    };
  }
}

/** How long a request may take, from asking to the end of its upload. */
function deadlineMs(record: ProfileRecord): number {
  return (
    ACK_MS + (isTimed(record.kind) ? record.seconds * 1000 + RECORDING_GRACE_MS : SNAPSHOT_GRACE_MS) + UPLOAD_SILENCE_MS
  );
}

/** Why the recording process counts as gone, or undefined while it keeps its deadlines. */
function silence(record: ProfileRecord, now: number): string | undefined {
  switch (record.state) {
    case 'requested':
      return now - record.requestedAt > ACK_MS
        ? `process ${record.process} did not answer within ${ACK_MS / 1000} s`
        : undefined;
    case 'recording': {
      const allowed = isTimed(record.kind) ? record.seconds * 1000 + RECORDING_GRACE_MS : SNAPSHOT_GRACE_MS;
      return now - (record.startedAt ?? record.requestedAt) > allowed
        ? `process ${record.process} stopped answering while recording`
        : undefined;
    }
    case 'uploading':
      return now - (record.progressAt ?? record.requestedAt) > UPLOAD_SILENCE_MS
        ? `process ${record.process} stopped answering while handing the profile back`
        : undefined;
    case 'done':
    case 'failed':
      return undefined;
  }
}

function view(record: ProfileRecord): ProfileStatus {
  return {
    id: record.id,
    process: record.process,
    kind: record.kind,
    seconds: isTimed(record.kind) ? record.seconds : null,
    state: record.state,
    requestedAt: new Date(record.requestedAt).toISOString(),
    ...(record.startedAt === undefined ? {} : { startedAt: new Date(record.startedAt).toISOString() }),
    ...(record.bytes === undefined ? {} : { bytes: record.bytes }),
    ...(record.uploadedBytes === undefined ? {} : { uploadedBytes: record.uploadedBytes }),
    ...(record.error === undefined ? {} : { error: record.error }),
    fileName: record.fileName,
  };
}
