import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** Checks behind the worker's health endpoints, and its metrics. */
export interface HealthChecks {
  /** Why the process should be restarted (empty while it is alive): e.g. a stopped consumer loop. */
  problems(): Promise<string[]>;
  /** Not draining, Redis reachable, every queue consumed. */
  ready(): Promise<boolean>;
  /** Answers GET /metrics. */
  metrics(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * The worker's small HTTP port: platforms such as Cloud Run need a listener, orchestrators
 * probe /healthz (the process is alive: 503 when a consumer loop has stopped, so the platform
 * restarts it) and /readyz (it can do work), and Prometheus scrapes /metrics. A bare node:http
 * server, because three fixed routes do not need a framework.
 */
export function createHealthServer(checks: HealthChecks): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: object): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, { status: 'method not allowed' });
    if (path === '/healthz') {
      checks.problems().then(
        (problems) =>
          reply(
            problems.length === 0 ? 200 : 503,
            problems.length === 0 ? { status: 'ok' } : { status: 'consumer stopped', problems },
          ),
        // A check that cannot run proves nothing dead; restarting on it would add outages.
        () => reply(200, { status: 'ok' }),
      );
      return;
    }
    if (path === '/metrics') return checks.metrics(req, res);
    if (path === '/readyz') {
      checks.ready().then(
        (ok) => reply(ok ? 200 : 503, { status: ok ? 'ready' : 'not ready' }),
        () => reply(503, { status: 'not ready' }),
      );
      return;
    }
    reply(404, { status: 'not found' });
  });
}
