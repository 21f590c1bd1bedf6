/**
 * What a member tells the fleet about itself. Every value is a string, so any dashboard can show
 * it and every process reads back exactly what was written.
 */
export interface Capabilities {
  /** The deployable it belongs to, e.g. `web` or `worker`. */
  readonly service: string;
  /** The release it runs (a git sha, an image tag). */
  readonly version: string;
  readonly host: string;
  /** When the process started, ISO 8601. */
  readonly startedAt: string;
  /** Queues a worker consumes, comma separated. */
  readonly queues?: string;
  /** How much it runs at once, free-form (e.g. `default:20,cpu:2`). */
  readonly concurrency?: string;
  /** Its share of a Partitioner's keys relative to the other members: a positive integer, 1 when absent. */
  readonly weight?: string;
  /** Event-loop utilisation over the last heartbeat interval, 0 to 1 (see ProcessVitals). */
  readonly eventLoopUtilization?: string;
  /** The longest event-loop delay over the last heartbeat interval, in milliseconds (see ProcessVitals). */
  readonly eventLoopDelayMaxMs?: string;
  readonly [extra: string]: string | undefined;
}

const REQUIRED = ['service', 'version', 'host', 'startedAt'] as const;
// Capabilities travel in every members() reply; they describe a process, they are no data store.
const MAX_JSON_BYTES = 16 * 1024;

/** Checks capabilities passed to `join` and returns them as stored: JSON without undefined fields. */
export function encodeCapabilities(capabilities: Capabilities): string {
  if (typeof capabilities !== 'object' || capabilities === null || Array.isArray(capabilities)) {
    throw new TypeError('member capabilities must be an object of strings');
  }
  for (const field of REQUIRED) {
    if (typeof capabilities[field] !== 'string' || capabilities[field] === '') {
      throw new TypeError(`member capabilities.${field} must be a non-empty string`);
    }
  }
  for (const [field, value] of Object.entries(capabilities)) {
    if (value !== undefined && typeof value !== 'string')
      throw new TypeError(`member capabilities.${field} must be a string, got ${typeof value}`);
  }
  if (capabilities.weight !== undefined && !/^[1-9]\d{0,5}$/.test(capabilities.weight)) {
    throw new TypeError(
      `member capabilities.weight must be a positive integer below 1000000, got ${JSON.stringify(capabilities.weight)}`,
    );
  }
  const json = JSON.stringify(capabilities);
  if (Buffer.byteLength(json) > MAX_JSON_BYTES)
    throw new TypeError(`member capabilities must fit in ${MAX_JSON_BYTES} bytes of JSON`);
  return json;
}

/**
 * Reads stored capabilities back. Lenient, because the writer may be another release of this
 * code: non-string values are dropped and a missing required field reads as ''.
 */
export function decodeCapabilities(json: string): Capabilities {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    value = {};
  }
  const strings =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string')
      : [];
  return { service: '', version: '', host: '', startedAt: '', ...Object.fromEntries(strings) };
}
