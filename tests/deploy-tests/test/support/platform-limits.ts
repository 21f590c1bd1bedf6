/**
 * The platform limits Flotilla's defaults must fit, as the platforms document them. The
 * descriptor tests load each service's configuration the way the platform would start it and
 * compare against these.
 */
export const PLATFORM_LIMITS = {
  heroku: {
    /** SIGTERM → SIGKILL when a dyno stops (devcenter: dynos, "graceful shutdown"). */
    shutdownGraceSeconds: 30,
    /** The router's idle timeout for keep-alive connections (Router 2.0 / legacy: 90 s). */
    routerKeepAliveIdleSeconds: 90,
    /** The router closes a response that sends nothing for 55 s (rolling window, streaming). */
    routerRollingWindowSeconds: 55,
    /** The first byte of a response must come within 30 s (H12 request timeout). */
    routerInitialResponseSeconds: 30,
    /** Connections each Heroku Key-Value Store (Heroku Redis) plan allows (devcenter: plans and limits). */
    redisPlanConnections: { 'heroku-redis:mini': 20, 'heroku-redis:premium-0': 40 } as Readonly<Record<string, number>>,
    /** WEB_CONCURRENCY the Node.js buildpack sets: the dyno's memory over 512 MB. */
    webConcurrencyByDynoSize: { 'standard-1x': 1, 'standard-2x': 2 } as Readonly<Record<string, number>>,
  },
  cloudRun: {
    /** SIGTERM → SIGKILL when an instance shuts down. */
    shutdownGraceSeconds: 10,
    /** Longest request timeout (timeoutSeconds). */
    maxRequestTimeoutSeconds: 3600,
    /** Variables Cloud Run sets itself and refuses in a service descriptor. */
    reservedEnv: ['PORT', 'K_SERVICE', 'K_REVISION', 'K_CONFIGURATION'],
  },
  elasticBeanstalk: {
    /** Application Load Balancer idle timeout (aws:elbv2:loadbalancer IdleTimeout default). */
    albIdleTimeoutSeconds: 60,
  },
} as const;
