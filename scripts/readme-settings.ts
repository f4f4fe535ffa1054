// Rewrites the configuration table of README.md from src/core/config.ts SETTINGS (the single source of truth).
// Run: node --import tsx scripts/readme-settings.ts   (test/core/readme.test.ts checks the README is current)
import { readFileSync, writeFileSync } from 'node:fs';
import { settingsTable } from '../src/core/settings-table.js';

const file = new URL('../README.md', import.meta.url);
const readme = readFileSync(file, 'utf8');
const updated = readme.replace(/(<!-- settings-table:start -->\n)[\s\S]*?(<!-- settings-table:end -->)/, `$1${settingsTable()}$2`);
writeFileSync(file, updated);
