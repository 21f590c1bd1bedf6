import { PLATFORM_MARKERS, PLATFORM_RELEASE_VARIABLES } from './platform.js';
import { SETTING_GROUPS, type Setting, type SettingGroup } from './setting.js';
import { SETTINGS } from './settings.js';

/** The command that regenerates docs/configuration.md; the page and its test name it. */
export const REGENERATE_COMMAND = 'pnpm run docs:config';

const code = (text: string) => `\`${text}\``;
const list = (names: readonly string[]) => names.map(code).join(', ');

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

function defaultOf(setting: Setting): string {
  if (setting.default !== undefined) return code(setting.default);
  return setting.derived ?? '—';
}

function readBy(setting: Setting): string {
  return setting.services === 'both' ? 'web, worker' : setting.services;
}

function row(variable: string, setting: Setting): string {
  const doc = setting.secret ? `${setting.doc} (secret: never echoed in errors)` : setting.doc;
  return `| ${code(variable)} | ${cell(defaultOf(setting))} | ${readBy(setting)} | ${cell(doc)} |`;
}

/** docs/configuration.md, generated from the settings table so the page cannot drift from the code. */
export function renderConfigurationDoc(): string {
  const settings = Object.entries(SETTINGS as Record<string, Setting>);
  const lines = [
    '# Configuration',
    '',
    `<!-- Generated from packages/config/src/settings.ts by \`${REGENERATE_COMMAND}\`: edit the table there, not this page. -->`,
    '',
    'Everything comes from the environment, checked once at start-up; a bad value stops the process',
    'with one line naming the variable, what was expected and what it got.',
    'Each variable keeps the unit its name says (`…_SECONDS`, `…_MS`, `…_MB`, `…_BYTES`);',
    '`HTTP_…_TIMEOUT`, `SHUTDOWN_TIMEOUT` and `SHUTDOWN_DRAIN_DELAY` are in seconds too.',
    '',
    `The platform is detected from what it sets (${list(PLATFORM_MARKERS.map(([variable]) => variable))})`,
    'and decides the default shutdown budget. The release a process reports is `FLOTILLA_RELEASE`,',
    `else the platform's own (${list(PLATFORM_RELEASE_VARIABLES)}).`,
    'Tracing reads the standard OpenTelemetry variables (`OTEL_…`).',
  ];
  for (const [group, title] of Object.entries(SETTING_GROUPS) as [SettingGroup, string][]) {
    lines.push('', `## ${title}`, '', '| Variable | Default | Read by | Meaning |', '| --- | --- | --- | --- |');
    for (const [variable, setting] of settings) if (setting.group === group) lines.push(row(variable, setting));
  }
  return `${lines.join('\n')}\n`;
}
