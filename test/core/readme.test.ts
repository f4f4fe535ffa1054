import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingsTable } from '../../src/core/settings-table.js';

describe('README', () => {
  const readme = readFileSync('README.md', 'utf8');

  it('lists every setting exactly as src/core/config.ts defines it (regenerate: node --import tsx scripts/readme-settings.ts)', () => {
    const table = /<!-- settings-table:start -->\n([\s\S]*?)<!-- settings-table:end -->/.exec(readme)?.[1];
    expect(table).toBe(settingsTable());
  });

  it('shows the two set-up commands, and .ci/run runs the README test command', () => {
    expect(readme).toContain('npx librechat-supabase up');
    expect(readme).toContain('npm ci && npm test');
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/^npm test$/m);
  });
});
