import { createWriteStream } from 'node:fs';
import { access, constants, rename, rm } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnreachableError, callApi, open, refusal, type ApiTarget } from './api-client.js';
import type { ProgressBar } from './progress-bar.js';

/** The kinds of profile a process records, as the admin API names them. */
export type ProfileKind = 'cpu' | 'heap-snapshot' | 'heap-sampling';

/** What `flotilla profile` asks for. */
export interface ProfileRequest {
  readonly processId: string;
  readonly kind: ProfileKind;
  /** How long to record; undefined for a heap snapshot, which is taken in one go. */
  readonly seconds: number | undefined;
  /** Where to save it; undefined for the file name the API gives, in the working directory. */
  readonly out: string | undefined;
}

/** A profile as GET /api/admin/profiles/:id reports it. */
export interface ProfileStatus {
  readonly id: string;
  readonly process: string;
  readonly kind: ProfileKind;
  readonly seconds: number | null;
  readonly state: 'requested' | 'recording' | 'uploading' | 'done' | 'failed';
  readonly requestedAt: string;
  readonly startedAt?: string;
  readonly bytes?: number;
  readonly uploadedBytes?: number;
  readonly error?: string;
  readonly fileName: string;
  readonly file: string;
}

/** A profile saved to disk. */
export interface SavedProfile {
  readonly path: string;
  readonly bytes: number;
  readonly profile: ProfileStatus;
}

/** The profile ended "failed", or could not be saved here. */
export class ProfileFailedError extends Error {
  override readonly name = 'ProfileFailedError';
}

// The API has no long poll for profiles; twice a second keeps the seconds counter honest.
const POLL_MS = 500;

const percent = (part: number | undefined, whole: number | undefined): number | undefined =>
  whole ? (100 * (part ?? 0)) / whole : undefined;

/**
 * Asks a live process for a profile through the admin API, shows its progress, and saves the
 * file. It is written to a temporary name next to the target and renamed once complete, so a
 * broken download never leaves a truncated profile under the name a tool would open.
 */
export async function takeProfile(admin: ApiTarget, request: ProfileRequest, bar: ProgressBar): Promise<SavedProfile> {
  // Checked before asking: a heap snapshot pauses the process, which is wasted if it cannot be saved.
  const directory = request.out === undefined ? process.cwd() : dirname(resolve(request.out));
  await access(directory, constants.W_OK).catch((error: unknown) => {
    throw new ProfileFailedError(
      `cannot write to ${directory}: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  try {
    const requested = await callApi<ProfileStatus>(
      admin,
      'POST',
      `/api/admin/processes/${encodeURIComponent(request.processId)}/profiles`,
      {
        kind: request.kind,
        ...(request.seconds === undefined ? {} : { seconds: request.seconds }),
      },
    );
    const status = await settled(admin, requested, bar);
    if (status.state === 'failed')
      throw new ProfileFailedError(
        `profile ${status.id} of ${status.process} failed: ${status.error ?? 'no reason given'}`,
      );
    // The name comes from the server: only its last part, so it cannot point outside the directory.
    const path = resolve(request.out ?? basename(status.fileName));
    return { path, bytes: await download(admin, status.file, path, bar), profile: status };
  } finally {
    bar.done();
  }
}

/** Polls the profile's status until it is done or failed, drawing its progress. */
async function settled(admin: ApiTarget, first: ProfileStatus, bar: ProgressBar): Promise<ProfileStatus> {
  let status = first;
  // Counted on this machine's clock from when recording was first seen, so clock skew between
  // here and the server cannot make the counter jump.
  let recordingSince: number | undefined;
  while (status.state !== 'done' && status.state !== 'failed') {
    if (status.state === 'recording') {
      recordingSince ??= Date.now();
      const elapsed = Math.floor((Date.now() - recordingSince) / 1000);
      if (status.seconds === null) bar.update(`recording ${elapsed} s`, undefined);
      else
        bar.update(
          `recording ${Math.min(elapsed, status.seconds)}/${status.seconds} s`,
          percent(Math.min(elapsed, status.seconds), status.seconds),
        );
    } else {
      bar.update(status.state, status.state === 'uploading' ? percent(status.uploadedBytes, status.bytes) : undefined);
    }
    await sleep(POLL_MS);
    status = await callApi<ProfileStatus>(admin, 'GET', `/api/admin/profiles/${encodeURIComponent(status.id)}`);
  }
  return status;
}

/** Streams the file to `path` by way of a temporary file; resolves with the bytes written. */
async function download(admin: ApiTarget, file: string, path: string, bar: ProgressBar): Promise<number> {
  const response = await open(admin, file);
  if (!response.ok || !response.body) throw await refusal(response, file);
  const length = Number(response.headers.get('content-length')) || undefined;
  const partial = `${path}.${process.pid}.partial`;
  let received = 0;
  bar.update('downloading', percent(0, length));
  try {
    await pipeline(
      Readable.fromWeb(response.body),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          received += chunk.length;
          bar.update('downloading', percent(received, length));
          yield chunk;
        }
      },
      createWriteStream(partial, { flags: 'wx' }),
    );
    await rename(partial, path);
    return received;
  } catch (error) {
    await rm(partial, { force: true });
    const message = error instanceof Error ? error.message : String(error);
    // File system errors name their system call; anything else broke the connection to the web.
    if (error instanceof Error && 'syscall' in error) throw new ProfileFailedError(`cannot save ${path}: ${message}`);
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new UnreachableError(
      `the download of ${file} broke off after ${received} bytes (${message}${cause}); nothing was saved`,
    );
  }
}
