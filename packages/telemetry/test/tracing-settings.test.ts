import { ConfigError } from '@flotilla/config';
import { describe, expect, it } from 'vitest';
import { readTracingSettings } from '../src/index.js';

const read = (env: Record<string, string>) => readTracingSettings(env, 'flotilla-web');

describe('readTracingSettings', () => {
  it('is off when nothing asks for traces, so a laptop without a collector sees no export errors', () => {
    expect(read({})).toMatchObject({
      enabled: false,
      description: 'off (set OTEL_EXPORTER_OTLP_ENDPOINT to export traces)',
    });
    expect(read({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_SERVICE_NAME: 'x' }).enabled).toBe(false);
  });

  it('is on when an OTLP endpoint is set, and says where spans go', () => {
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toMatchObject({
      enabled: true,
      description: 'otlp http/protobuf to http://collector:4318/v1/traces',
    });
    expect(
      read({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://api.example.com/v1/traces',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      }),
    ).toMatchObject({
      enabled: true,
      description: 'otlp http/json to https://api.example.com/v1/traces',
    });
    expect(
      read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })
        .description,
    ).toBe('otlp grpc to http://collector:4317/');
  });

  it('is on when OTEL_TRACES_EXPORTER names an exporter, even without an endpoint', () => {
    expect(read({ OTEL_TRACES_EXPORTER: 'otlp' })).toMatchObject({
      enabled: true,
      description: 'otlp http/protobuf to the default endpoint',
    });
    expect(read({ OTEL_TRACES_EXPORTER: 'console' })).toMatchObject({ enabled: true, description: 'console' });
  });

  it('names the OTLP protocol when OTLP is the only trace exporter, which then gets a thread of its own', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(read(endpoint).otlpOnlyProtocol).toBe('http/protobuf');
    expect(
      read({ ...endpoint, OTEL_TRACES_EXPORTER: 'otlp, otlp', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })
        .otlpOnlyProtocol,
    ).toBe('grpc');
    expect(read({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).otlpOnlyProtocol).toBe('http/json');
    expect(read({ ...endpoint, OTEL_TRACES_EXPORTER: 'otlp,console' }).otlpOnlyProtocol).toBeUndefined();
    expect(read({ OTEL_TRACES_EXPORTER: 'zipkin' }).otlpOnlyProtocol).toBeUndefined();
  });

  it('is off when asked to be, whatever else is set', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(read({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' })).toMatchObject({
      enabled: false,
      description: 'off (OTEL_TRACES_EXPORTER=none)',
    });
    expect(read({ ...endpoint, OTEL_SDK_DISABLED: 'TRUE' })).toMatchObject({
      enabled: false,
      description: 'off (OTEL_SDK_DISABLED=true)',
    });
    expect(read({ ...endpoint, OTEL_SDK_DISABLED: 'false' }).enabled).toBe(true);
  });

  it('treats empty values as unset, as the specification says', () => {
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_TRACES_EXPORTER: ' ', OTEL_SDK_DISABLED: '' }).enabled).toBe(
      false,
    );
  });

  it('keeps credentials in an endpoint out of the description', () => {
    const { description } = read({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://user:secret@api.example.com/v1/traces?key=abc',
    });
    expect(description).toBe('otlp http/protobuf to https://api.example.com/v1/traces');
  });

  it('defaults the service name only when the environment names none', () => {
    expect(read({}).defaultServiceName).toBe('flotilla-web');
    expect(read({ OTEL_SERVICE_NAME: 'shop-web' }).defaultServiceName).toBeUndefined();
    expect(
      read({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod, service.name=shop' }).defaultServiceName,
    ).toBeUndefined();
    expect(read({ OTEL_RESOURCE_ATTRIBUTES: 'service.namespace=shop' }).defaultServiceName).toBe('flotilla-web');
  });

  it('leaves the SDK metrics and logs off unless their exporters are named', () => {
    expect(read({})).toMatchObject({ metricsFromEnv: false, logsFromEnv: false, diagnostics: 'warn' });
    expect(read({ OTEL_METRICS_EXPORTER: 'otlp', OTEL_LOGS_EXPORTER: 'otlp', OTEL_LOG_LEVEL: 'DEBUG' })).toMatchObject({
      metricsFromEnv: true,
      logsFromEnv: true,
      diagnostics: 'debug',
    });
  });

  it.each([
    [{ OTEL_SDK_DISABLED: 'yes' }, 'OTEL_SDK_DISABLED: expected one of true, false, got "yes"'],
    [
      { OTEL_TRACES_EXPORTER: 'otlp,jaeger' },
      'OTEL_TRACES_EXPORTER: expected a comma-separated list of otlp, zipkin, console, none, got "otlp,jaeger"',
    ],
    [
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'http' },
      'OTEL_EXPORTER_OTLP_PROTOCOL: expected one of http/protobuf, http/json, grpc, got "http"',
    ],
    [
      { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'json' },
      'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: expected one of http/protobuf, http/json, grpc, got "json"',
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' },
      'OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:// or https:// URL, got "localhost:4318"',
    ],
    [
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'not a url' },
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: expected an http:// or https:// URL, got "not a url"',
    ],
    [{ OTEL_TRACES_SAMPLER: 'ratio' }, 'OTEL_TRACES_SAMPLER: expected one of always_on'],
    [
      { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'half' },
      'OTEL_TRACES_SAMPLER_ARG: expected a ratio from 0 to 1, got "half"',
    ],
    [
      { OTEL_LOG_LEVEL: 'loud' },
      'OTEL_LOG_LEVEL: expected one of none, error, warn, info, debug, verbose, all, got "loud"',
    ],
  ])('rejects %j with a ConfigError naming the variable', (env, message) => {
    expect(() => read(env)).toThrow(ConfigError);
    expect(() => read(env)).toThrow(message);
  });

  it('reads trace-id ratio sampling and its ratio, 1 when unset as in the SDK', () => {
    expect(
      read({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).ratioSampling,
    ).toEqual({ ratio: 0.25, parentBased: true });
    expect(read({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }).ratioSampling).toEqual({
      ratio: 0,
      parentBased: false,
    });
    expect(read({ OTEL_TRACES_SAMPLER: 'traceidratio' }).ratioSampling).toEqual({ ratio: 1, parentBased: false });
    expect(
      read({ OTEL_TRACES_SAMPLER: 'parentbased_always_on', OTEL_TRACES_SAMPLER_ARG: '0.25' }).ratioSampling,
    ).toBeUndefined();
    expect(read({}).ratioSampling).toBeUndefined();
  });
});
