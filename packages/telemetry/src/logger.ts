import { pino, type DestinationStream, type Logger } from 'pino';
import { traceLogFields } from './trace-log-fields.js';

/** Options for a process logger. */
export interface LoggerOptions {
  readonly service: string;
  readonly level: string;
  /** Where lines go; stdout when omitted (tests pass a stream to read them back). */
  readonly destination?: DestinationStream;
}

// Keys whose values must never reach a log line, wherever they appear in a logged object.
const REDACTED_PATHS = [
  'password',
  '*.password',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  'headers.authorization',
  'headers.cookie',
];

/**
 * A JSON logger. Each line carries `service` and a `severity` field in the spelling Cloud
 * Logging reads, so levels survive on Cloud Run and App Engine as well as in any JSON log
 * pipeline; a line written while a span is active also carries `trace_id` and `span_id`.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: {
        level: (label) => ({ level: label, severity: label === 'fatal' ? 'CRITICAL' : label.toUpperCase() }),
      },
      mixin: traceLogFields,
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

export type { Logger };
