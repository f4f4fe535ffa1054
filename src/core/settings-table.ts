import { SETTINGS } from './config.js';

/** The README's configuration table, as Markdown, generated from SETTINGS. */
export function settingsTable(): string {
  const rows = Object.values(SETTINGS).map((spec) => `| \`${spec.env}\` | ${spec.secret ? 'yes' : 'no'} | ${spec.description} |`);
  return ['| Variable | Secret | Meaning |', '|---|---|---|', ...rows, ''].join('\n');
}
