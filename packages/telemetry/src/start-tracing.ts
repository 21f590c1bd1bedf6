import { diag } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { diagLogLevel, diagnosticsLogger } from './diagnostics-logger.js';
import type { Tracing } from './tracing.js';
import { readTracingSettings } from './tracing-settings.js';

/** Options of `startTracing`. */
export interface StartTracingOptions {
  /** `service.name` when the environment sets none (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES). */
  readonly serviceName: string;
}

/**
 * Starts tracing for this process as the OTEL_* variables ask (see `readTracingSettings`), or
 * does nothing when they do not. Call it first, before anything imports express, ioredis or
 * bullmq: instrumentation works by patching those modules as they load. Throws ConfigError
 * on a bad OTEL_* value.
 */
export async function startTracing(options: StartTracingOptions): Promise<Tracing> {
  const settings = readTracingSettings(process.env, options.serviceName);
  if (!settings.enabled) {
    return { enabled: false, description: settings.description, reportTo: () => {}, shutdown: async () => {} };
  }
  // Imported only now: the SDK and its exporters are most of tracing's start-up cost, and a
  // process with tracing off should not pay it.
  const { startSdk } = await import('./tracing-sdk.js');
  const sdk = await startSdk(settings);

  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    description: settings.description,
    reportTo(logger: Logger) {
      diag.setLogger(diagnosticsLogger(logger), {
        logLevel: diagLogLevel(settings.diagnostics),
        suppressOverrideMessage: true,
      });
    },
    shutdown(deadline?: number) {
      stopped ??= sdk.shutdown().catch((error: unknown) => {
        diag.warn(`trace export at shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
      });
      if (deadline === undefined) return stopped;
      let timer: NodeJS.Timeout | undefined;
      const giveUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      });
      return Promise.race([stopped, giveUp]).finally(() => clearTimeout(timer));
    },
  };
}
