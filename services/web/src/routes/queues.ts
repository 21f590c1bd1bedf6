import type { IncomingMessage } from 'node:http';
import { Router } from 'express';
import { sameSecret } from '@flotilla/metrics';
import {
  readQueueOverview,
  snapshotQueue,
  type JobCatalog,
  type JobProducer,
  type QueueSnapshot,
} from '@flotilla/queue';
import { HttpProblem } from '../problems.js';

/** What the queue overview reads. */
export interface QueueRoutesDeps {
  readonly catalog: JobCatalog;
  readonly producer: JobProducer;
  /** Whether a request may read queue figures (the same credentials as /metrics). */
  readonly authorized: (req: IncomingMessage) => boolean;
  /** Token of the HireFire endpoint; undefined: no such endpoint. */
  readonly hirefireToken: string | undefined;
}

/** How many minutes of completed/failed counts /api/queues reports per queue. */
const THROUGHPUT_MINUTES = 15;

/**
 * GET /api/queues: every queue's counts, the age of its oldest waiting job, its workers and jobs finished per minute —
 * what an autoscaler that cannot read Prometheus scales workers on. GET /hirefire/:token/info:
 * the same signal in the form Heroku's HireFire add-on reads (the `worker` process type's
 * job-queue latency, in seconds).
 */
export function queueRoutes(deps: QueueRoutesDeps): Router {
  const router = Router();
  const snapshots = async (): Promise<QueueSnapshot[]> => {
    const now = Date.now();
    return await Promise.all(deps.catalog.queues.map((q) => snapshotQueue(deps.producer.shardsOf(q.name), now)));
  };

  router.get('/api/queues', async (req, res) => {
    if (!deps.authorized(req)) throw new HttpProblem('unauthorized', 'this endpoint needs the metrics credentials');
    const now = Date.now();
    const queues = await Promise.all(
      deps.catalog.queues.map((q) => readQueueOverview(deps.producer.shardsOf(q.name), THROUGHPUT_MINUTES, now)),
    );
    res.set('cache-control', 'no-store').json({ throughputMinutes: THROUGHPUT_MINUTES, queues });
  });

  router.get('/hirefire/:token/info', async (req, res) => {
    const token = req.params['token'];
    if (!deps.hirefireToken || typeof token !== 'string' || !sameSecret(token, deps.hirefireToken)) {
      throw new HttpProblem('not-found', `no resource at ${req.method} ${req.path}`);
    }
    const latency = Math.max(0, ...(await snapshots()).map((q) => q.oldestWaitingSeconds));
    res.set('cache-control', 'no-store').json([{ name: 'worker', value: Math.ceil(latency) }]);
  });
  return router;
}
