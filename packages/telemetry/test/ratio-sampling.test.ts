import { ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import {
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { HashedTraceIds, TraceIdRatioSampler, ratioSamplingOptions } from '../src/ratio-sampling.js';

const RATIOS = [0, 0.01, 0.1, 0.5, 0.999, 1];

describe('HashedTraceIds', () => {
  it('hands out valid, distinct ids: 32 and 16 lowercase hex digits', () => {
    const ids = new HashedTraceIds();
    const traceIds = Array.from({ length: 1000 }, () => ids.generateTraceId());
    expect(new Set(traceIds).size).toBe(1000);
    for (const id of traceIds) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(ids.generateSpanId()).toMatch(/^[0-9a-f]{16}$/);
  });

  it('knows the hash of the trace id it generated last, and only of that one', () => {
    const ids = new HashedTraceIds();
    const first = ids.generateTraceId();
    expect(ids.hashOf(first)).toEqual(expect.any(Number));
    // A copy with the same digits is the same id.
    expect(ids.hashOf(`${first.slice(0, 16)}${first.slice(16)}`)).toBe(ids.hashOf(first));
    ids.generateTraceId();
    expect(ids.hashOf(first)).toBeUndefined();
  });
});

describe('TraceIdRatioSampler', () => {
  it.each(RATIOS)('samples exactly the trace ids the SDK samples at ratio %s', (ratio) => {
    const ids = new HashedTraceIds();
    const ours = new TraceIdRatioSampler(ratio, ids);
    const sdk = new TraceIdRatioBasedSampler(ratio);
    let sampled = 0;
    for (let i = 0; i < 20_000; i++) {
      const traceId = ids.generateTraceId();
      const decision = ours.shouldSample(ROOT_CONTEXT, traceId).decision;
      expect(decision, traceId).toBe(sdk.shouldSample(ROOT_CONTEXT, traceId).decision);
      if (decision === SamplingDecision.RECORD_AND_SAMPLED) sampled++;
    }
    expect(Math.abs(sampled / 20_000 - ratio)).toBeLessThan(0.01);
  });

  it('decides a trace id it did not generate as the SDK does, invalid ones included', () => {
    const ids = new HashedTraceIds();
    const ours = new TraceIdRatioSampler(0.5, ids);
    const sdk = new TraceIdRatioBasedSampler(0.5);
    ids.generateTraceId();
    const foreign = [
      '0af7651916cd43dd8448eb211c80319c',
      'ffffffffffffffffffffffffffffffff',
      '00000000000000000000000000000000',
      'not hex',
      '',
    ];
    for (const traceId of foreign)
      expect(ours.shouldSample(ROOT_CONTEXT, traceId).decision, traceId).toBe(
        sdk.shouldSample(ROOT_CONTEXT, traceId).decision,
      );
  });

  it('names itself as the SDK sampler does, for the diagnostics', () => {
    expect(String(new TraceIdRatioSampler(0.01, new HashedTraceIds()))).toBe(
      String(new TraceIdRatioBasedSampler(0.01)),
    );
  });

  it('in a tracer provider, records the root spans the SDK sampler would, and their children follow them', () => {
    const idGenerator = new HashedTraceIds();
    const provider = new TracerProvider({
      idGenerator,
      sampler: new ParentBasedSampler({ root: new TraceIdRatioSampler(0.3, idGenerator) }),
    });
    const tracer = provider.getTracer('test');
    const sdk = new TraceIdRatioBasedSampler(0.3);
    let recorded = 0;
    for (let i = 0; i < 2000; i++) {
      const root = tracer.startSpan('root', { kind: SpanKind.SERVER }, ROOT_CONTEXT);
      const { traceId } = root.spanContext();
      const expected = sdk.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
      expect(idGenerator.hashOf(traceId), 'the trace id came from the generator').toBeDefined();
      expect(root.isRecording(), traceId).toBe(expected);
      expect(root.spanContext().traceFlags & TraceFlags.SAMPLED).toBe(expected ? TraceFlags.SAMPLED : 0);
      const child = tracer.startSpan('child', {}, trace.setSpan(ROOT_CONTEXT, root));
      expect(child.isRecording()).toBe(expected);
      if (expected) recorded++;
      child.end();
      root.end();
    }
    expect(recorded).toBeGreaterThan(450);
    expect(recorded).toBeLessThan(750);
  });

  it('is what the SDK is given for OTEL_TRACES_SAMPLER=(parentbased_)traceidratio, hashing the ids it is given with', () => {
    const parentBased = ratioSamplingOptions({ ratio: 0.25, parentBased: true });
    expect(parentBased.sampler).toBeInstanceOf(ParentBasedSampler);
    expect(String(parentBased.sampler)).toContain('root=TraceIdRatioBased{0.25}');
    const plain = ratioSamplingOptions({ ratio: 0.25, parentBased: false });
    expect(plain.sampler).toBeInstanceOf(TraceIdRatioSampler);
    const sdk = new TraceIdRatioBasedSampler(0.25);
    for (let i = 0; i < 1000; i++) {
      const traceId = plain.idGenerator.generateTraceId();
      expect(plain.sampler.shouldSample(ROOT_CONTEXT, traceId, 'span', SpanKind.INTERNAL, {}, []).decision).toBe(
        sdk.shouldSample(ROOT_CONTEXT, traceId).decision,
      );
    }
  });
});
