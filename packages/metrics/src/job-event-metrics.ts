import { Gauge, type Registry } from 'prom-client';

/**
 * `flotilla_job_event_listeners`: requests of this process following a job's live events (event
 * streams, long polls). It returns to its idle value once they end, however early the client left.
 */
export function registerJobEventListeners(registry: Registry, count: () => number): void {
  new Gauge({
    name: 'flotilla_job_event_listeners',
    help: "Requests of this process subscribed to a job's live events (event streams, long polls)",
    registers: [registry],
    collect() {
      this.set(count());
    },
  });
}
