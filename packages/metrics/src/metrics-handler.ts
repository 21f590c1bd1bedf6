import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { metricsAuthorized, type MetricsAuth } from './metrics-auth.js';

/** Where the text of a scrape comes from: this process's registry, or a cluster's aggregate. */
export type MetricsSource = () => Promise<{ readonly contentType: string; readonly text: string }>;

/** The metrics of one registry. */
export function registrySource(registry: Registry): MetricsSource {
  return async () => ({ contentType: registry.contentType, text: await registry.metrics() });
}

/**
 * Answers GET /metrics in the Prometheus text format; 401 without the configured credentials.
 * Plain node:http, so the worker's small health server and the web can both use it.
 */
export function metricsHandler(source: MetricsSource, auth: MetricsAuth) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (!metricsAuthorized(auth, req)) {
      res.writeHead(401, {
        'content-type': 'application/problem+json',
        'www-authenticate': auth.kind === 'basic' ? 'Basic realm="metrics"' : 'Bearer realm="metrics"',
        'cache-control': 'no-store',
      });
      res.end(
        JSON.stringify({
          type: 'urn:flotilla:problem:unauthorized',
          title: 'Credentials required',
          status: 401,
          detail: 'this endpoint needs the metrics credentials',
          instance: req.url ?? '/metrics',
        }),
      );
      return;
    }
    source().then(
      ({ contentType, text }) => {
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
        res.end(text);
      },
      (error: unknown) => {
        res.writeHead(503, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
        res.end(`metrics unavailable: ${error instanceof Error ? error.message : String(error)}\n`);
      },
    );
  };
}
