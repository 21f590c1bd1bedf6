export {
  Shutdown,
  handleSignals,
  delay,
  type ShutdownOptions,
  type ShutdownStep,
  type ShutdownPhase,
} from './shutdown.js';
export { drainHttpServer } from './drain-http-server.js';
export { runService, type ServiceDefinition } from './run-service.js';
