import { context, trace } from '@opentelemetry/api';

/** The trace fields of a log line. */
export interface TraceLogFields {
  readonly trace_id?: string;
  readonly span_id?: string;
  readonly trace_flags?: string;
}

/**
 * The ids of the span active where a line is logged, so a log search can jump to the trace
 * and back. Empty when no span is active, or when tracing is off (the API then has no
 * context manager, so nothing is ever active). The names are the OpenTelemetry log data
 * model's JSON spelling, which log pipelines and backends map to trace links.
 */
export function traceLogFields(): TraceLogFields {
  const span = trace.getSpan(context.active());
  // A fresh object every time: pino merges the line's own fields into what a mixin returns.
  if (!span) return {};
  const spanContext = span.spanContext();
  if (!trace.isSpanContextValid(spanContext)) return {};
  return {
    trace_id: spanContext.traceId,
    span_id: spanContext.spanId,
    trace_flags: spanContext.traceFlags.toString(16).padStart(2, '0'),
  };
}
