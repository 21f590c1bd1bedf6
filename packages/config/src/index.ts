export { ConfigError } from './config-error.js';
export { detectPlatform, defaultShutdownTimeoutSeconds, type Platform } from './platform.js';
export {
  loadWebConfig,
  loadWorkerConfig,
  BOARD_ACTIONS,
  type BoardAction,
  type CommonConfig,
  type WebConfig,
  type WorkerConfig,
  type EvictionPolicyCheck,
  type LogLevel,
  type MetricsAuthConfig,
} from './load-config.js';
