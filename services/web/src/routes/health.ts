import { Router } from 'express';
import type { RedisEpochState } from '@flotilla/redis';

/** Checks behind the health endpoints. */
export interface HealthDeps {
  readonly isDraining: () => boolean;
  readonly redisReachable: () => Promise<boolean>;
  /** Whether the queue Redis still holds the data this process started with (see RedisEpoch). */
  readonly redisEpoch: () => Promise<RedisEpochState>;
}

/**
 * GET /healthz: the process is alive (liveness; never touches Redis, so a Redis outage does not
 * make the platform restart healthy web processes). GET /readyz: Redis answers, still holds its
 * data (a flushed or emptied Redis is never "ready") and the process is not draining
 * (readiness; load balancers stop routing here during shutdown).
 */
export function healthRoutes(deps: HealthDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.set('cache-control', 'no-store').json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const draining = deps.isDraining();
    const redis = !draining && (await deps.redisReachable());
    const epoch = redis ? await deps.redisEpoch() : 'unknown';
    const ready = !draining && redis && epoch !== 'lost';
    res
      .status(ready ? 200 : 503)
      .set('cache-control', 'no-store')
      .json({ status: ready ? 'ready' : 'not ready', draining, redis, redisData: epoch });
  });
  return router;
}
