import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { MetricsSource } from './metrics-handler.js';

const REQUEST = 'flotilla:metrics-request';
const REPLY = 'flotilla:metrics-reply';
const TIMEOUT_MS = 5000;

interface MetricsRequest {
  readonly type: typeof REQUEST;
  readonly id: string;
}
interface MetricsReply {
  readonly type: typeof REPLY;
  readonly id: string;
  readonly contentType?: string;
  readonly text?: string;
  readonly error?: string;
}

function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}

/**
 * In a node:cluster primary: answers any web process's request for the whole cluster's
 * metrics, which prom-client's AggregatorRegistry gathers from every process over IPC (the
 * primary itself serves no HTTP, so a scrape lands on one process and asks here).
 */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage<MetricsRequest>(message, REQUEST)) return;
    aggregator.clusterMetrics().then(
      (text) =>
        worker.send({ type: REPLY, id: message.id, contentType: aggregator.contentType, text } satisfies MetricsReply),
      (error: unknown) =>
        worker.send({
          type: REPLY,
          id: message.id,
          error: error instanceof Error ? error.message : String(error),
        } satisfies MetricsReply),
    );
  });
}

/**
 * In a process of a node:cluster: the metrics of every process of the cluster, summed (counters,
 * histograms) by the primary. Outside a cluster it is just this registry's.
 */
export function clusterMetricsSource(registry: Registry): MetricsSource {
  if (!cluster.isWorker || !process.send)
    return async () => ({ contentType: registry.contentType, text: await registry.metrics() });
  // The primary's aggregator asks each process for this registry (not prom-client's global one);
  // prom-client installs a process's answering listener only when an AggregatorRegistry is built.
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry();
  const pending = new Map<string, (reply: MetricsReply) => void>();
  process.on('message', (message: unknown) => {
    if (isMessage<MetricsReply>(message, REPLY)) pending.get(message.id)?.(message);
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = randomUUID();
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('the cluster primary did not answer'));
      }, TIMEOUT_MS);
      pending.set(id, (reply) => {
        clearTimeout(timer);
        pending.delete(id);
        if (reply.text === undefined) reject(new Error(reply.error ?? 'no metrics'));
        else resolve({ contentType: reply.contentType ?? registry.contentType, text: reply.text });
      });
      process.send?.({ type: REQUEST, id } satisfies MetricsRequest);
    });
}
