import { NodeSDK } from '@opentelemetry/sdk-node';
import { INSTRUMENTED_MODULES, createInstrumentations } from './instrumentations.js';
import { registerModuleHooks } from './module-hooks.js';
import { ratioSamplingOptions } from './ratio-sampling.js';
import { ThreadSpanExporter } from './thread-span-exporter.js';
import type { TracingSettings } from './tracing-settings.js';

/**
 * Hooks module loading, then builds and starts the OpenTelemetry Node SDK for traces.
 * Exporter, endpoint, protocol, headers, sampler, batching and resource attributes all come
 * from the standard OTEL_* variables, read by the SDK itself. The SDK's metrics and logs stay
 * off unless OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER ask for them: metrics are served to
 * Prometheus by the process, and logs are written to stdout, where every platform collects them.
 * When OTLP is the only trace exporter (the usual case) it runs in a thread of its own (see
 * ThreadSpanExporter); the console and Zipkin exporters, for development, stay with the SDK.
 */
export async function startSdk(settings: TracingSettings): Promise<NodeSDK> {
  const hooksReady = registerModuleHooks(INSTRUMENTED_MODULES);
  const sdk = new NodeSDK({
    instrumentations: createInstrumentations(),
    ...(settings.ratioSampling ? ratioSamplingOptions(settings.ratioSampling) : {}),
    ...(settings.otlpOnlyProtocol
      ? { traceExporter: new ThreadSpanExporter({ protocol: settings.otlpOnlyProtocol }) }
      : {}),
    ...(settings.defaultServiceName ? { serviceName: settings.defaultServiceName } : {}),
    ...(settings.metricsFromEnv ? {} : { metricReaders: [] }),
    ...(settings.logsFromEnv ? {} : { logRecordProcessors: [] }),
  });
  sdk.start();
  await hooksReady();
  return sdk;
}
