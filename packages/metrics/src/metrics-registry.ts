import { Registry, collectDefaultMetrics } from 'prom-client';

/** Which kind of process a registry describes; every series carries it as `service`. */
export type ServiceName = 'web' | 'worker';

/**
 * A process's own registry (never prom-client's global one) with Node's default metrics —
 * event loop lag, heap, GC, CPU — labelled with the service.
 */
export function createMetricsRegistry(service: ServiceName): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
