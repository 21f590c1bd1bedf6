import type { z } from 'zod';

/** Which service reads a setting. */
export type SettingService = 'web' | 'worker' | 'both';

/** The sections of the configuration page, in the order it shows them. */
export const SETTING_GROUPS = {
  process: 'Process',
  redis: 'Redis',
  jobs: 'Jobs and queues',
  http: 'HTTP',
  security: 'Security and the dashboard',
  cache: 'Cache and data',
  metrics: 'Metrics',
  fleet: 'Fleet and URL check',
  profiling: 'Profiling',
} as const;
/** One section of the configuration page. */
export type SettingGroup = keyof typeof SETTING_GROUPS;

/** One environment variable: how it is checked, its default, who reads it and what it means. */
export interface Setting<T = unknown> {
  /** Turns the variable's text into its value; its messages read well after "expected". */
  readonly schema: z.ZodType<T, string>;
  /** The default as it would be written in the environment; parsed by `schema` like a set value. */
  readonly default?: string;
  /** For a default the loader works out (from other settings or the platform), what the page says. */
  readonly derived?: string;
  readonly services: SettingService;
  readonly group: SettingGroup;
  /** One line for the configuration page. */
  readonly doc: string;
  /** Never echoed in an error message. */
  readonly secret?: true;
}
