export { uniqueQueuePrefix } from './queue-prefix.js';
export { isolatedServiceEnv, type IsolatedServiceEnv } from './isolated-env.js';
export { waitFor, type WaitForOptions } from './wait-for.js';
export { httpStatus } from './http-status.js';
export { spawnService, type SpawnServiceOptions, type ServiceHandle, type ServiceExit } from './spawn-service.js';
export { spawnWeb, spawnWorker, serviceEntry, type ServiceOptions } from './services.js';
export type { TestkitProvidedContext } from './provided-context.js';
export { LOAD_TEST_ENV } from './load-env.js';
export { CONNECTION_BUDGET, connectionsHeld, type ConnectionHolder } from './connection-budget.js';
