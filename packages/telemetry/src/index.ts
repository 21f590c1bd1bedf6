export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { traceLogFields, type TraceLogFields } from './trace-log-fields.js';
export { startTracing, type StartTracingOptions } from './start-tracing.js';
export { type Tracing } from './tracing.js';
export { readTracingSettings, type TracingSettings, type DiagnosticsLevel } from './tracing-settings.js';
export { queueTelemetry, isTracing, type QueueTelemetryOption } from './queue-telemetry.js';
export { serverRequestTracer, type ServerRequestTracer } from './server-spans.js';
export { traceBackgroundWork, type Annotate } from './background-spans.js';
