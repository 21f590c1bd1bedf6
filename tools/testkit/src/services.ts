import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnService, type ServiceHandle, type SpawnServiceOptions } from './spawn-service.js';

/** Options for `spawnWeb` / `spawnWorker`: everything but the entry and the environment. */
export type ServiceOptions = Omit<SpawnServiceOptions, 'entry' | 'env'>;

// Both src/ (tests run from source) and dist/ sit two levels below the repository root's
// tools/ folder, so the same relative step works from either.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Absolute path of a service's compiled entry point, e.g. `services/web/dist/main.js`. */
export function serviceEntry(service: 'web' | 'worker'): string {
  return join(repoRoot, 'services', service, 'dist', 'main.js');
}

/** Starts the built web service (see `spawnService`) with the repository root as cwd. */
export async function spawnWeb(
  env: Readonly<Record<string, string | undefined>>,
  options: ServiceOptions = {},
): Promise<ServiceHandle> {
  return await spawnService({ cwd: repoRoot, ...options, entry: serviceEntry('web'), env });
}

/** Starts the built worker service (see `spawnService`) with the repository root as cwd. */
export async function spawnWorker(
  env: Readonly<Record<string, string | undefined>>,
  options: ServiceOptions = {},
): Promise<ServiceHandle> {
  return await spawnService({ cwd: repoRoot, ...options, entry: serviceEntry('worker'), env });
}
