import { Router } from 'express';

/** Checks behind the health endpoints. */
export interface HealthDeps {
  readonly isDraining: () => boolean;
  readonly redisReachable: () => Promise<boolean>;
}

/**
 * GET /healthz: the process is alive (liveness; never touches Redis, so a Redis outage does not
 * make the platform restart healthy web processes). GET /readyz: Redis answers and the process
 * is not draining (readiness; load balancers stop routing here during shutdown).
 */
export function healthRoutes(deps: HealthDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.set('cache-control', 'no-store').json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const draining = deps.isDraining();
    const redis = !draining && (await deps.redisReachable());
    const ready = !draining && redis;
    res
      .status(ready ? 200 : 503)
      .set('cache-control', 'no-store')
      .json({ status: ready ? 'ready' : 'not ready', draining, redis });
  });
  return router;
}
