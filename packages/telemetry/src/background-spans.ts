import { SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';

const tracer = () => trace.getTracer('flotilla-background');

/** Adds what became known while the work ran (counts, outcomes) to its span. */
export type Annotate = (attributes: Attributes) => void;

/**
 * Runs work that no request or job started (a timer's round, say) as the root span of a trace
 * of its own, so that what it does, Redis commands and outgoing HTTP calls, is traced as a
 * request's is whenever the sampler keeps the trace. A failure ends the span with error status
 * and is rethrown. With tracing off the API's no-op tracer makes this a plain call.
 */
export async function traceBackgroundWork<T>(name: string, work: (annotate: Annotate) => Promise<T>): Promise<T> {
  return await tracer().startActiveSpan(name, { root: true, kind: SpanKind.INTERNAL }, async (span) => {
    try {
      return await work((attributes) => span.setAttributes(attributes));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      span.recordException(error instanceof Error ? error : message);
      span.setStatus({ code: SpanStatusCode.ERROR, message });
      throw error;
    } finally {
      span.end();
    }
  });
}
