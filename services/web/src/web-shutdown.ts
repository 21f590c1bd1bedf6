import type { Server } from 'node:http';
import { delay, drainHttpServer, type Shutdown } from '@flotilla/lifecycle';

/** Something a web process stops or closes on the way out. */
interface Closable {
  close(): Promise<void> | void;
}

interface Stoppable {
  stop(): Promise<void> | void;
}

/**
 * What a web process has started so far. Start-up fills it in as it goes; a start that fails
 * half-way leaves the rest empty, and shutdown closes only what is there.
 */
export interface WebParts {
  redis?: { closeAll(): Promise<void> };
  memoryGauge?: Stoppable | undefined;
  metricsPusher?: Stoppable;
  vitals?: Stoppable;
  member?: { leave(): Promise<void> };
  profiler?: Closable;
  rateLimiter?: Closable | undefined;
  events?: Closable;
  producer?: Closable;
  content?: Closable;
  server?: Server;
  /** Closers of the open event streams (job events, the dashboard's). */
  readonly streams: Set<() => void>;
}

/**
 * Registers every step of a web process's shutdown, in the order a drain needs them, before
 * start-up begins: the process leaves the fleet, lets the router see it go, stops taking
 * requests and finishes those in flight, then closes what served them, and only then the
 * Redis connections everything above still used.
 */
export function registerWebShutdown(shutdown: Shutdown, parts: WebParts, drainDelayMs: number): void {
  // First: the fleet (dashboard, profiling) sees this process go as soon as it starts draining.
  shutdown.add('leave the fleet', () => parts.member?.leave());
  // Readiness already fails; the delay lets the router notice before the listener closes.
  shutdown.add('drain delay', () => (parts.server ? delay(drainDelayMs) : undefined));
  shutdown.add('end event streams and finish in-flight requests', async (deadline) => {
    // Clients reconnect (to another replica) and resume from Last-Event-ID.
    for (const close of [...parts.streams]) close();
    if (parts.server) await drainHttpServer(parts.server, deadline);
  });
  shutdown.add('close queues and caches', async () => {
    await parts.profiler?.close();
    await parts.rateLimiter?.close();
    await parts.events?.close();
    await parts.producer?.close();
    await parts.content?.close();
  });
  // The vitals feed the fleet heartbeat, which ends with leaving the fleet above.
  shutdown.add('stop measuring the event loop', () => parts.vitals?.stop(), 'release');
  shutdown.add('stop pushing metrics', () => parts.metricsPusher?.stop(), 'release');
  shutdown.add('stop reading Redis memory', () => parts.memoryGauge?.stop(), 'release');
  shutdown.add('close redis connections', () => parts.redis?.closeAll(), 'release');
}
