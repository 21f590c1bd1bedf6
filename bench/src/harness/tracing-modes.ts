/** Telemetry off, or tracing on with one sampling setting, as the services' environment says it. */
export interface TracingMode {
  readonly name: string;
  /** The service's environment, given the OTLP endpoint spans go to. */
  readonly env: (sink: string) => Record<string, string>;
}

function tracesOn(sampler: Record<string, string>): (sink: string) => Record<string, string> {
  return (sink) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: sink, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', ...sampler });
}

export const TELEMETRY_OFF: TracingMode = { name: 'telemetry off', env: () => ({ OTEL_SDK_DISABLED: 'true' }) };

/** Tracing on, from nothing sampled to every trace recorded. */
export const TRACING_ON: readonly TracingMode[] = [
  { name: 'on, no trace sampled', env: tracesOn({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }) },
  { name: 'on, 1% of traces sampled', env: tracesOn({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' }) },
  { name: 'on, 10% of traces sampled', env: tracesOn({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }) },
  { name: 'on, every trace recorded', env: tracesOn({ OTEL_TRACES_SAMPLER: 'always_on' }) },
];
