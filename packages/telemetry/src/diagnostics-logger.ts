import { format } from 'node:util';
import { DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { DiagnosticsLevel } from './tracing-settings.js';

const LEVELS: Readonly<Record<DiagnosticsLevel, DiagLogLevel>> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

/** The API's numeric level for an OTEL_LOG_LEVEL value. */
export function diagLogLevel(level: DiagnosticsLevel): DiagLogLevel {
  return LEVELS[level];
}

/**
 * The SDK's own diagnostics (a collector that refuses spans, a dropped batch) as JSON log
 * lines of the process logger, instead of the SDK's default plain console text, which would
 * break a JSON log pipeline — or silence, when OTEL_LOG_LEVEL is unset.
 */
export function diagnosticsLogger(logger: Logger): DiagLogger {
  const child = logger.child({ component: 'opentelemetry' });
  return {
    error: (message, ...args) => child.error(format(message, ...args)),
    warn: (message, ...args) => child.warn(format(message, ...args)),
    info: (message, ...args) => child.info(format(message, ...args)),
    debug: (message, ...args) => child.debug(format(message, ...args)),
    verbose: (message, ...args) => child.trace(format(message, ...args)),
  };
}
