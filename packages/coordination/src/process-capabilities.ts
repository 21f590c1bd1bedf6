import { hostname } from 'node:os';
import type { Capabilities } from './capabilities.js';

/** The capabilities of this process: service, release, host, pid and start time, plus `extra`. */
export function processCapabilities(
  service: string,
  release: string,
  extra: Readonly<Record<string, string>> = {},
): Capabilities {
  return {
    service,
    version: release,
    host: hostname(),
    pid: String(process.pid),
    startedAt: new Date(Date.now() - Math.round(process.uptime() * 1000)).toISOString(),
    ...extra,
  };
}
