import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { packageRoot } from '../../src/core/paths.js';

// Runs the database tests in supabase/tests with pg_prove, as `supabase test db` would, against a test database
// with every migration applied. pgTAP is not part of embedded Postgres: its SQL (from Debian's
// postgresql-<major>-pgtap, installed by scripts/install-pgtap.sh) is loaded into the `extensions` schema directly,
// so its major version need not match the server's.
const run = promisify(execFile);
const testsDir = path.join(packageRoot(), 'supabase', 'tests');

function newestPgtapSql(): string | null {
  const root = '/usr/share/postgresql';
  if (!existsSync(root)) return null;
  const candidates: Array<{ file: string; version: number[] }> = [];
  for (const major of readdirSync(root)) {
    const dir = path.join(root, major, 'extension');
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir)) {
      const match = /^pgtap--(\d+)\.(\d+)\.(\d+)\.sql$/.exec(file); // the full install script, not an upgrade step
      if (match) candidates.push({ file: path.join(dir, file), version: match.slice(1).map(Number) });
    }
  }
  candidates.sort((a, b) => a.version.join('.').localeCompare(b.version.join('.'), undefined, { numeric: true }));
  return candidates.at(-1)?.file ?? null;
}

const pgProveFound = spawnSync('pg_prove', ['--version'], { encoding: 'utf8' }).status === 0;
const pgtapSql = newestPgtapSql();
const testFiles = existsSync(testsDir) ? readdirSync(testsDir).filter((f) => f.endsWith('.sql')).sort() : [];
const missing = !pgProveFound ? 'pg_prove is not installed' : !pgtapSql ? 'pgTAP SQL is not installed' : null;
if (missing) console.warn(`[pgTAP] supabase/tests skipped: ${missing} (run scripts/install-pgtap.sh)`);

describe.skipIf(missing !== null)(
  missing ? `pgTAP database tests skipped: ${missing} (run scripts/install-pgtap.sh)` : 'pgTAP database tests (supabase/tests)',
  () => {
    it('pass under pg_prove', async () => {
      expect(testFiles.length).toBeGreaterThan(0);
      const db = await createTestDatabase();
      const client = await db.pool.connect();
      try {
        // The install script guards against being run outside CREATE EXTENSION with psql meta-commands; drop those.
        const sql = readFileSync(pgtapSql!, 'utf8')
          .split('\n')
          .filter((line) => !line.startsWith('\\'))
          .join('\n');
        await client.query('create schema if not exists extensions');
        await client.query('set search_path = extensions');
        await client.query(sql);
      } finally {
        client.release();
      }
      // As on Supabase, where extensions live in `extensions` and that schema is on the search_path.
      await db.pool.query(`alter database ${db.name} set search_path = "$user", public, extensions`);

      // Connection details go through the environment, never the command line.
      const url = new URL(db.url);
      const env = {
        ...process.env,
        PGHOST: url.hostname,
        PGPORT: url.port,
        PGUSER: decodeURIComponent(url.username),
        PGPASSWORD: decodeURIComponent(url.password),
        PGDATABASE: db.name,
      };
      const result = await run('pg_prove', ['--failures', ...testFiles.map((f) => path.join(testsDir, f))], { env, cwd: packageRoot() }).then(
        (r) => ({ code: 0, output: r.stdout + r.stderr }),
        (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? 1, output: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
      );
      expect(result.output, result.output).toMatch(/All tests successful/);
      expect(result.code, result.output).toBe(0);
      const total = /Tests=(\d+)/.exec(result.output);
      expect(Number(total?.[1] ?? 0), result.output).toBeGreaterThanOrEqual(40);
    }, 120_000);
  },
);
