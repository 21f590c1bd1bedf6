import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { context, trace, TraceFlags, type Tracer } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, traceLogFields } from '../src/index.js';
import { capture } from './capture.js';

// A real SDK tracer in memory, so spans and their context behave as in a traced process.
let provider: TracerProvider;
let tracer: Tracer;

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  provider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() })],
  });
  tracer = provider.getTracer('test');
});

afterAll(async () => {
  await provider.shutdown();
  context.disable();
});

describe('traceLogFields', () => {
  it('is empty outside any span', () => {
    expect(traceLogFields()).toEqual({});
  });

  it('names the active span and its trace', () => {
    tracer.startActiveSpan('work', (span) => {
      const { traceId, spanId } = span.spanContext();
      expect(traceLogFields()).toEqual({ trace_id: traceId, span_id: spanId, trace_flags: '01' });
      span.end();
    });
  });

  it('follows the context across awaits, and returns to nothing once the span is left', async () => {
    const seen = await tracer.startActiveSpan('outer', async (span) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const fields = traceLogFields();
      span.end();
      return { fields, spanId: span.spanContext().spanId };
    });
    expect(seen.fields.span_id).toBe(seen.spanId);
    expect(traceLogFields()).toEqual({});
  });

  it('ignores an invalid span context', () => {
    const invalid = trace.wrapSpanContext({
      traceId: '0'.repeat(32),
      spanId: '0'.repeat(16),
      traceFlags: TraceFlags.NONE,
    });
    context.with(trace.setSpan(context.active(), invalid), () => {
      expect(traceLogFields()).toEqual({});
    });
  });
});

describe('createLogger with trace fields', () => {
  it('adds trace_id and span_id to lines written inside a span, keeping severity and redaction', () => {
    const out = capture();
    const logger = createLogger({ service: 'worker', level: 'info', destination: out.stream });
    const ids = tracer.startActiveSpan('job', (span) => {
      logger.info({ jobId: 'default.1', password: 'pw' }, 'job completed');
      span.end();
      return span.spanContext();
    });
    logger.info({ jobId: 'default.2' }, 'outside');
    const [inside, outside] = out.lines();
    expect(inside).toMatchObject({
      severity: 'INFO',
      jobId: 'default.1',
      password: '[redacted]',
      trace_id: ids.traceId,
      span_id: ids.spanId,
    });
    expect(outside).toMatchObject({ severity: 'INFO', jobId: 'default.2' });
    expect(outside).not.toHaveProperty('trace_id');
  });

  it('gives every line fields of its own (pino merges into what the mixin returns)', () => {
    const out = capture();
    const logger = createLogger({ service: 'web', level: 'info', destination: out.stream });
    logger.info({ a: 1 }, 'first');
    logger.info({ b: 2 }, 'second');
    const [first, second] = out.lines();
    expect(first).not.toHaveProperty('b');
    expect(second).not.toHaveProperty('a');
  });
});
