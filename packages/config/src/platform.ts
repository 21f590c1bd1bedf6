/** Where the process runs, as told by the variables each platform sets. */
export type Platform = 'heroku' | 'cloud-run' | 'app-engine' | 'kubernetes' | 'local';

type Env = Readonly<Record<string, string | undefined>>;

/** The variable each platform sets for every process, in the order they are looked for. */
export const PLATFORM_MARKERS: readonly (readonly [variable: string, platform: Platform])[] = [
  ['DYNO', 'heroku'],
  ['K_SERVICE', 'cloud-run'],
  ['GAE_SERVICE', 'app-engine'],
  ['KUBERNETES_SERVICE_HOST', 'kubernetes'],
];

/** Variables in which a platform names the release it runs (Heroku, Cloud Run, App Engine). */
export const PLATFORM_RELEASE_VARIABLES = ['HEROKU_RELEASE_VERSION', 'K_REVISION', 'GAE_VERSION'] as const;

/** Detects the platform from the variables it sets for every process. */
export function detectPlatform(env: Env): Platform {
  for (const [variable, platform] of PLATFORM_MARKERS) if (env[variable]) return platform;
  return 'local';
}

/** The release the platform says it runs, if it says. */
export function platformRelease(env: Env): string | undefined {
  for (const variable of PLATFORM_RELEASE_VARIABLES) {
    const release = env[variable];
    if (release !== undefined) return release;
  }
  return undefined;
}

/**
 * How long a process may spend shutting down before the platform kills it, minus a margin
 * for flushing logs: Heroku and Kubernetes (default terminationGracePeriodSeconds) give 30 s,
 * Cloud Run gives 10 s. App Engine's window depends on the environment, so it takes the
 * conservative Cloud Run value; SHUTDOWN_TIMEOUT overrides all of these.
 */
export function defaultShutdownTimeoutMs(platform: Platform): number {
  switch (platform) {
    case 'cloud-run':
    case 'app-engine':
      return 8000;
    case 'heroku':
    case 'kubernetes':
    case 'local':
      return 25_000;
  }
}
