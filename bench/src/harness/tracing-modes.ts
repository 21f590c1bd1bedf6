/** Telemetry off, or tracing on with one sampling setting, as the services' environment says it. */
export interface TracingMode {
  readonly name: string;
  /** The share of traces started here that are recorded and exported, 0 to 1. */
  readonly sampled: number;
  /** The service's environment, given the OTLP endpoint spans go to. */
  readonly env: (sink: string) => Record<string, string>;
}

function tracesOn(sampler: Record<string, string>): (sink: string) => Record<string, string> {
  return (sink) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: sink, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', ...sampler });
}

export const TELEMETRY_OFF: TracingMode = {
  name: 'telemetry off',
  sampled: 0,
  env: () => ({ OTEL_SDK_DISABLED: 'true' }),
};

/**
 * Telemetry off again, in a process of its own: how far two processes running the very same
 * code apart differ (JIT and garbage-collection timing), the noise floor of every ratio.
 */
export const TELEMETRY_OFF_AGAIN: TracingMode = { ...TELEMETRY_OFF, name: 'telemetry off, another process' };

/** Tracing on, recording nothing: what tracing's plumbing costs every request and job. */
export const NOTHING_SAMPLED: TracingMode = {
  name: 'on, no trace sampled',
  sampled: 0,
  env: tracesOn({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }),
};

/** Tracing on, recording everything: against NOTHING_SAMPLED, what recording one trace costs. */
export const EVERY_TRACE: TracingMode = {
  name: 'on, every trace recorded',
  sampled: 1,
  env: tracesOn({ OTEL_TRACES_SAMPLER: 'always_on' }),
};

/** Tracing on, from nothing sampled to every trace recorded. */
export const TRACING_ON: readonly TracingMode[] = [
  NOTHING_SAMPLED,
  {
    name: 'on, 1% of traces sampled',
    sampled: 0.01,
    env: tracesOn({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' }),
  },
  {
    name: 'on, 10% of traces sampled',
    sampled: 0.1,
    env: tracesOn({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }),
  },
  EVERY_TRACE,
];
