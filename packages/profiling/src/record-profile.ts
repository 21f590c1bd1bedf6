import { Session } from 'node:inspector/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProfileKind } from './profile-kind.js';

/** The profile came out larger than the configured maximum; nothing of it is handed back. */
export class ProfileTooLargeError extends Error {
  override readonly name = 'ProfileTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`the profile is larger than the ${Math.round(maxBytes / 1024 / 1024)} MB allowed (PROFILE_MAX_MB)`);
  }
}

/** A recorded profile, serialised in the format its file has, in pieces as they were produced. */
export interface RecordedProfile {
  readonly pieces: readonly Buffer[];
  readonly bytes: number;
}

/** Collects serialised pieces up to a byte limit, then only counts. */
class BoundedPieces {
  readonly pieces: Buffer[] = [];
  bytes = 0;
  tooLarge = false;

  constructor(private readonly maxBytes: number) {}

  add(text: string): void {
    if (this.tooLarge) return;
    const piece = Buffer.from(text);
    this.bytes += piece.length;
    if (this.bytes > this.maxBytes) {
      this.tooLarge = true;
      this.pieces.length = 0;
      return;
    }
    this.pieces.push(piece);
  }

  result(): RecordedProfile {
    if (this.tooLarge) throw new ProfileTooLargeError(this.maxBytes);
    return { pieces: this.pieces, bytes: this.bytes };
  }
}

/**
 * Records a profile of this thread with Node's own inspector (no addon, no --inspect flag):
 * a CPU profile or a sampling heap profile over `seconds`, or a heap snapshot, which stops the
 * thread while V8 walks and serialises the heap. `signal` ends a timed recording early (the
 * process is shutting down); what was recorded until then is returned.
 */
export async function recordProfile(
  kind: ProfileKind,
  seconds: number,
  maxBytes: number,
  signal: AbortSignal,
): Promise<RecordedProfile> {
  const session = new Session();
  session.connect();
  const output = new BoundedPieces(maxBytes);
  const until = (): Promise<void> => sleep(seconds * 1000, undefined, { signal }).catch(() => undefined);
  try {
    switch (kind) {
      case 'cpu': {
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
        await until();
        const { profile } = await session.post('Profiler.stop');
        output.add(JSON.stringify(profile));
        break;
      }
      case 'heap-sampling': {
        await session.post('HeapProfiler.enable');
        await session.post('HeapProfiler.startSampling');
        await until();
        const { profile } = await session.post('HeapProfiler.stopSampling');
        output.add(JSON.stringify(profile));
        break;
      }
      case 'heap-snapshot': {
        // V8 delivers the snapshot in pieces, all during the call, while the thread is stopped.
        session.on('HeapProfiler.addHeapSnapshotChunk', (message) => output.add(message.params.chunk));
        await session.post('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
        break;
      }
    }
  } finally {
    session.disconnect();
  }
  return output.result();
}
