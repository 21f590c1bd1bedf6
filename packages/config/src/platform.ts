/** Where the process runs, as told by the variables each platform sets. */
export type Platform = 'heroku' | 'cloud-run' | 'app-engine' | 'kubernetes' | 'local';

type Env = Readonly<Record<string, string | undefined>>;

/** Detects the platform from the variables it sets for every process. */
export function detectPlatform(env: Env): Platform {
  if (env['DYNO']) return 'heroku';
  if (env['K_SERVICE']) return 'cloud-run';
  if (env['GAE_SERVICE']) return 'app-engine';
  if (env['KUBERNETES_SERVICE_HOST']) return 'kubernetes';
  return 'local';
}

/**
 * Seconds a process may spend shutting down before the platform kills it, minus a margin
 * for flushing logs: Heroku and Kubernetes (default terminationGracePeriodSeconds) give 30 s,
 * Cloud Run gives 10 s. App Engine's window depends on the environment, so it takes the
 * conservative Cloud Run value; SHUTDOWN_TIMEOUT overrides all of these.
 */
export function defaultShutdownTimeoutSeconds(platform: Platform): number {
  switch (platform) {
    case 'cloud-run':
    case 'app-engine':
      return 8;
    case 'heroku':
    case 'kubernetes':
    case 'local':
      return 25;
  }
}
