export { ConfigError } from './config-error.js';
export { detectPlatform, defaultShutdownTimeoutMs, type Platform } from './platform.js';
export { loadWebConfig, loadWorkerConfig } from './load-config.js';
export {
  BOARD_ACTIONS,
  type BoardAction,
  type CommonConfig,
  type WebConfig,
  type WorkerConfig,
  type EvictionPolicyCheck,
  type LogLevel,
  type MetricsAuthConfig,
} from './types.js';
