/** Bytes per Redis value of a profile's file: small enough not to stall Redis on one command. */
export const CHUNK_BYTES = 1024 * 1024;
/** How long a finished profile waits to be downloaded. */
export const RESULT_TTL_MS = 120_000;
/** How long the asked process has to acknowledge a request before it counts as not answering. */
export const ACK_MS = 5000;
/** Beyond its seconds, how long a recording may take before the process counts as gone. */
export const RECORDING_GRACE_MS = 15_000;
/** How long a heap snapshot may keep its process stopped before it counts as gone. */
export const SNAPSHOT_GRACE_MS = 120_000;
/** Silence while uploading after which the process counts as gone. */
export const UPLOAD_SILENCE_MS = 15_000;
