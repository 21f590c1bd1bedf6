import { ConfigError } from '@flotilla/config';

type Env = Readonly<Record<string, string | undefined>>;

/** What the `OTEL_*` variables ask of tracing, read once at start-up. */
export interface TracingSettings {
  /** False unless the environment asks for traces (see `readTracingSettings`). */
  readonly enabled: boolean;
  /** One line for the start-up log: where spans go, or why tracing is off. */
  readonly description: string;
  /**
   * The service name to use when neither OTEL_SERVICE_NAME nor a `service.name` in
   * OTEL_RESOURCE_ATTRIBUTES names one; undefined when the environment does.
   */
  readonly defaultServiceName: string | undefined;
  /** OTEL_LOG_LEVEL: how much of the SDK's own diagnostics reach the log. */
  readonly diagnostics: DiagnosticsLevel;
  /** Whether OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER were set (metrics and logs are off otherwise). */
  readonly metricsFromEnv: boolean;
  readonly logsFromEnv: boolean;
  /**
   * OTLP's transport (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL) when
   * OTLP is the only trace exporter, as it is unless OTEL_TRACES_EXPORTER names others.
   */
  readonly otlpOnlyProtocol: OtlpProtocol | undefined;
  /** OTEL_TRACES_SAMPLER's trace-id ratio sampling, when it names one, and its ratio. */
  readonly ratioSampling: { readonly ratio: number; readonly parentBased: boolean } | undefined;
}

/** The transports OTLP exporters speak. */
export type OtlpProtocol = (typeof PROTOCOLS)[number];

/**
 * Whether the sampler OTEL_TRACES_SAMPLER names can ever record a span that has no parent:
 * false for always_off, parentbased_always_off and a trace-id ratio of 0. (Unset means the
 * SDK's default, parentbased_always_on.)
 */
export function samplesRootSpans(env: Env): boolean {
  const sampler = read(env, 'OTEL_TRACES_SAMPLER');
  if (sampler === 'always_off' || sampler === 'parentbased_always_off') return false;
  if (sampler?.endsWith('traceidratio')) return traceIdRatio(env) > 0;
  return true;
}

// A trace-id ratio sampler's ratio: OTEL_TRACES_SAMPLER_ARG, and 1 when unset, as in the SDK.
function traceIdRatio(env: Env): number {
  return Number(read(env, 'OTEL_TRACES_SAMPLER_ARG') ?? '1');
}

/** The levels OTEL_LOG_LEVEL takes, lower-cased. */
export type DiagnosticsLevel = 'none' | 'error' | 'warn' | 'info' | 'debug' | 'verbose' | 'all';

const EXPORTERS = ['otlp', 'zipkin', 'console', 'none'] as const;
const PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
const DIAGNOSTICS_LEVELS: readonly DiagnosticsLevel[] = ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'];

// The specification treats an empty value as unset.
function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], lowerCase = false): T | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  const value = lowerCase ? raw.toLowerCase() : raw;
  if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(name, `one of ${allowed.join(', ')}`, raw);
  return value as T;
}

function url(env: Env, name: string): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  // grpc endpoints are URLs too (http://collector:4317), so every protocol takes the same check.
  if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol))
    throw new ConfigError(name, 'an http:// or https:// URL', raw);
  return raw;
}

// Credentials belong in OTEL_EXPORTER_OTLP_HEADERS, but a URL with user:password@ still must not reach a log line.
function withoutCredentials(endpoint: string): string {
  const parsed = new URL(endpoint);
  parsed.username = '';
  parsed.password = '';
  parsed.search = '';
  return parsed.toString();
}

function definesServiceName(env: Env): boolean {
  if (read(env, 'OTEL_SERVICE_NAME')) return true;
  const attributes = read(env, 'OTEL_RESOURCE_ATTRIBUTES') ?? '';
  return attributes.split(',').some((pair) => pair.split('=')[0]?.trim() === 'service.name');
}

/**
 * Reads the standard OTEL_* variables this project honours and decides whether tracing is on.
 * The SDK itself defaults to exporting OTLP to localhost:4318, which on a laptop or in CI
 * without a collector means a connection error every few seconds; here tracing is on only
 * when the environment asks for it: OTEL_TRACES_EXPORTER is set (to anything but `none`), or
 * an OTLP endpoint is. OTEL_SDK_DISABLED=true wins over both. Values the SDK would ignore
 * with a warning (an unknown protocol, exporter or sampler, a ratio outside 0..1) throw a
 * ConfigError instead, so a typo stops the process rather than silently losing traces.
 */
export function readTracingSettings(env: Env, serviceName: string): TracingSettings {
  const disabled = oneOf(env, 'OTEL_SDK_DISABLED', ['true', 'false'], true) === 'true';
  const exporters = read(env, 'OTEL_TRACES_EXPORTER')
    ?.split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  for (const name of exporters ?? []) {
    if (!(EXPORTERS as readonly string[]).includes(name)) {
      throw new ConfigError(
        'OTEL_TRACES_EXPORTER',
        `a comma-separated list of ${EXPORTERS.join(', ')}`,
        env['OTEL_TRACES_EXPORTER'],
      );
    }
  }
  const protocol =
    oneOf(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', PROTOCOLS) ??
    oneOf(env, 'OTEL_EXPORTER_OTLP_PROTOCOL', PROTOCOLS) ??
    'http/protobuf';
  const tracesEndpoint = url(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const endpoint = url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const sampler = oneOf(env, 'OTEL_TRACES_SAMPLER', SAMPLERS);
  let ratioSampling: TracingSettings['ratioSampling'];
  if (sampler?.endsWith('traceidratio')) {
    const ratio = traceIdRatio(env);
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1)
      throw new ConfigError('OTEL_TRACES_SAMPLER_ARG', 'a ratio from 0 to 1', read(env, 'OTEL_TRACES_SAMPLER_ARG'));
    ratioSampling = { ratio, parentBased: sampler === 'parentbased_traceidratio' };
  }
  const diagnostics = oneOf(env, 'OTEL_LOG_LEVEL', DIAGNOSTICS_LEVELS, true) ?? 'warn';
  const names = exporters?.length ? exporters : ['otlp'];
  const common = {
    otlpOnlyProtocol: names.every((name) => name === 'otlp') ? protocol : undefined,
    ratioSampling,
    defaultServiceName: definesServiceName(env) ? undefined : serviceName,
    diagnostics,
    metricsFromEnv: read(env, 'OTEL_METRICS_EXPORTER') !== undefined,
    logsFromEnv: read(env, 'OTEL_LOGS_EXPORTER') !== undefined,
  };

  if (disabled) return { ...common, enabled: false, description: 'off (OTEL_SDK_DISABLED=true)' };
  if (exporters?.[0] === 'none') return { ...common, enabled: false, description: 'off (OTEL_TRACES_EXPORTER=none)' };
  if (!exporters?.length && !endpoint && !tracesEndpoint) {
    return { ...common, enabled: false, description: 'off (set OTEL_EXPORTER_OTLP_ENDPOINT to export traces)' };
  }
  const target =
    tracesEndpoint ??
    (endpoint ? `${endpoint.replace(/\/$/, '')}${protocol === 'grpc' ? '' : '/v1/traces'}` : undefined);
  const otlp = `otlp ${protocol} to ${target ? withoutCredentials(target) : 'the default endpoint'}`;
  return {
    ...common,
    enabled: true,
    description: names.map((name) => (name === 'otlp' ? otlp : name)).join(', '),
  };
}
