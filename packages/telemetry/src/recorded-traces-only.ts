import {
  INVALID_SPAN_CONTEXT,
  context,
  trace,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';

const UNRECORDED: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Whether the span active in `ctx` (or now) is being recorded, i.e. its trace was sampled. */
export function insideRecordedSpan(ctx: Context = context.active()): boolean {
  return trace.getSpan(ctx)?.isRecording() === true;
}

/**
 * A provider whose tracers start spans only inside a recorded (sampled) span and otherwise hand
 * back one shared unrecorded span. For client libraries called many times per request, such as
 * Redis: their spans are only worth having as children of a sampled trace, and skipping the
 * sampler, the ids and the attributes for the other traces is most of what they cost.
 */
export function recordedTracesOnly(provider: TracerProvider): TracerProvider {
  return {
    getTracer(name, version, options): Tracer {
      const tracer = provider.getTracer(name, version, options);
      return {
        startSpan: (spanName: string, spanOptions?: SpanOptions, ctx?: Context) =>
          insideRecordedSpan(ctx) ? tracer.startSpan(spanName, spanOptions, ctx) : UNRECORDED,
        startActiveSpan: tracer.startActiveSpan.bind(tracer),
      };
    },
  };
}
