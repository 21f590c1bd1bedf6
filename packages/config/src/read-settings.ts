import type { z } from 'zod';
import { ConfigError } from './config-error.js';
import type { Setting, SettingService } from './setting.js';
import { SETTINGS } from './settings.js';

type Env = Readonly<Record<string, string | undefined>>;
type Settings = typeof SETTINGS;

/**
 * The parsed value of each setting `service` reads: the default when the variable is unset,
 * or undefined when there is no default (the loader then derives one or leaves it out).
 */
export type SettingValues<S extends 'web' | 'worker'> = {
  readonly [K in keyof Settings as Settings[K]['services'] extends S | 'both' ? K : never]: Settings[K] extends {
    readonly default: string;
  }
    ? z.output<Settings[K]['schema']>
    : z.output<Settings[K]['schema']> | undefined;
};

// The settings a service reads, in table order.
function settingsOf(service: SettingService): [variable: string, setting: Setting][] {
  return Object.entries(SETTINGS as Record<string, Setting>).filter(
    ([, setting]) => setting.services === 'both' || setting.services === service,
  );
}

/** Parses every setting `service` reads; throws ConfigError on the first bad variable, in table order. */
export function readSettings<S extends 'web' | 'worker'>(service: S, env: Env): SettingValues<S> {
  const values: Record<string, unknown> = {};
  for (const [variable, setting] of settingsOf(service)) {
    const raw = env[variable];
    const text = raw ?? setting.default;
    if (text === undefined) {
      values[variable] = undefined;
      continue;
    }
    const result = setting.schema.safeParse(text);
    if (!result.success) {
      throw new ConfigError(
        variable,
        result.error.issues[0]?.message ?? 'a valid value',
        raw === undefined ? undefined : redact(setting, raw),
      );
    }
    values[variable] = result.data;
  }
  return values as SettingValues<S>;
}

function redact(setting: Setting, value: string): string {
  if (setting.secret) return '***';
  // Redis URLs carry passwords; show where they point, never the credentials.
  return value.replace(/\/\/[^@/]*@/, '//***@');
}
