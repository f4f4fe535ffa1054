import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMigrations } from '../../src/core/migrations.js';
import { createTestDatabase } from '../support/database.js';

/**
 * The package as a user gets it: `npm pack` (its prepack builds dist from the sources), then `npm install <tarball>`
 * into an empty project, then require/import/bin from there, never from this repository's tree.
 *
 * How it stays robust and reasonably fast:
 * - It packs a fresh copy of the sources, so the shared `dist/` of this tree is neither used (a stale file cannot
 *   make it pass) nor rebuilt under other processes' feet.
 * - One install per run, `--offline` from the npm cache that `npm ci` of this repository filled (no network); only
 *   when the cache misses something does it retry with `--prefer-offline`.
 * - `--ignore-scripts`: native add-ons are not rebuilt (compiling better-sqlite3 from source takes minutes; `npm ci`
 *   in .ci/run proves that build). It also proves that loading the library never needs a native add-on eagerly.
 */
const repo = process.cwd();
const work = mkdtempSync(path.join(os.tmpdir(), 'lcs-pack-'));
const app = path.join(work, 'app');
const installed = path.join(app, 'node_modules', 'librechat-supabase');
const db = await createTestDatabase();
let packedFiles: string[] = [];
let installNote = '';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, env: Record<string, string | undefined> = {}, timeout = 300_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { ...process.env, ...env }, timeout, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

function expectSuccess(result: Run, what: string): void {
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}):\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
}

const notCopied = new Set(['node_modules', 'dist', '.git', 'test', 'logs', 'coverage', '.librechat-supabase', '.test-data']);

beforeAll(async () => {
  const source = path.join(work, 'source');
  cpSync(repo, source, {
    recursive: true,
    filter: (from) => {
      const relative = path.relative(repo, from);
      const top = relative.split(path.sep)[0] ?? '';
      return !notCopied.has(top) && !relative.endsWith('.tgz');
    },
  });
  symlinkSync(path.join(repo, 'node_modules'), path.join(source, 'node_modules'), 'dir');

  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], source);
  expectSuccess(packed, 'npm pack');
  // prepack's build output shares stdout with npm's JSON report: the report is the last top-level array.
  const report = JSON.parse(packed.stdout.slice(packed.stdout.lastIndexOf('\n[\n') + 1)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packedFiles = report[0]!.files.map((file) => file.path);
  const tarball = path.join(work, report[0]!.filename);

  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  const install = (mode: string) => run('npm', ['install', tarball, mode, '--ignore-scripts', '--no-audit', '--no-fund'], app);
  let result = await install('--offline');
  installNote = 'offline from the npm cache';
  if (result.code !== 0) {
    result = await install('--prefer-offline');
    installNote = 'cache plus registry (the offline install missed something)';
  }
  expectSuccess(result, 'npm install of the packed tarball');
}, 600_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships the build, type declarations for both module systems, every migration and the examples, and nothing else', () => {
    for (const file of ['package.json', 'README.md', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts', 'dist/cli.js']) {
      expect(packedFiles).toContain(file);
    }
    for (const migration of readMigrations()) expect(packedFiles).toContain(`supabase/migrations/${migration.file}`);
    expect(packedFiles).toContain('supabase/compat/supabase-roles-and-auth.sql');
    expect(packedFiles.filter((file) => /^(src|test|bench|scripts|node_modules)\//.test(file))).toEqual([]);
    expect(packedFiles.filter((file) => /(^|\/)\.env$/.test(file))).toEqual([]);
    expect(readFileSync(path.join(installed, 'dist', 'cli.js'), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
    expect(installNote).not.toBe('');
  });

  it('loads with require() (CommonJS, as LibreChat api/ does) and with import (ESM), with the same named exports', async () => {
    const names = ['loadConfig', 'describeConfig', 'createLogger', 'redact', 'migrate', 'pendingMigrations', 'createPool', 'LcsError', 'createSyncService'];
    const cjs = await run(
      process.execPath,
      ['-e', `const lib = require('librechat-supabase'); console.log(JSON.stringify({ keys: Object.keys(lib).sort(), file: require.resolve('librechat-supabase'), version: require('librechat-supabase/package.json').version }))`],
      app,
    );
    expectSuccess(cjs, 'require');
    const esm = await run(
      process.execPath,
      ['--input-type=module', '-e', `const lib = await import('librechat-supabase'); console.log(JSON.stringify({ keys: Object.keys(lib).filter((k) => k !== 'default').sort(), file: import.meta.resolve('librechat-supabase') }))`],
      app,
    );
    expectSuccess(esm, 'import');
    const fromCjs = JSON.parse(cjs.stdout) as { keys: string[]; file: string; version: string };
    const fromEsm = JSON.parse(esm.stdout) as { keys: string[]; file: string };
    expect(fromCjs.file).toBe(path.join(installed, 'dist', 'index.cjs'));
    expect(fromEsm.file).toBe(`file://${path.join(installed, 'dist', 'index.js')}`);
    expect(fromCjs.version).toBe(JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')).version);
    for (const name of names) {
      expect(fromCjs.keys).toContain(name);
      expect(fromEsm.keys).toContain(name);
    }
    expect(fromEsm.keys).toEqual(fromCjs.keys);
  });

  it('works from CommonJS: loadConfig validates, and the logger redacts', async () => {
    const script = `
      const { loadConfig, describeConfig, createLogger, LcsError } = require('librechat-supabase');
      let message = '';
      try { loadConfig({}, { env: { LCS_PORT: 'x' }, required: ['supabaseDbUrl'] }); } catch (e) { message = (e instanceof LcsError) + ' ' + e.code; }
      const lines = [];
      createLogger({ logger: { info: (...a) => lines.push(a), warn() {}, error() {}, debug() {} } }).info('hi', { apiToken: 'abcdefghijklmnopqrstuvwxyz' });
      console.log(JSON.stringify({ message, port: describeConfig(loadConfig({}, { env: {} })).LCS_PORT, lines }));
    `;
    const result = await run(process.execPath, ['-e', script], app);
    expectSuccess(result, 'CommonJS usage');
    expect(JSON.parse(result.stdout)).toEqual({
      message: 'true LCS_CONFIG_INVALID',
      port: 9443,
      lines: [['[librechat-supabase] hi', { apiToken: '[redacted]' }]],
    });
  });

  it('type-checks for TypeScript consumers in both module systems through the exports map', async () => {
    const consumer = path.join(app, 'types');
    mkdirSync(consumer);
    const body = `import { loadConfig, createLogger, type Config, type Logger } from 'librechat-supabase';
const config: Config = loadConfig({}, { required: [] });
const logger: Logger = createLogger({ level: 'info' });
logger.info('port', { port: config.port });
// @ts-expect-error a misspelt setting name must not type-check
loadConfig({ prot: 1 });
`;
    writeFileSync(path.join(consumer, 'use.cts'), body);
    writeFileSync(path.join(consumer, 'use.mts'), body);
    const tsc = await run(
      process.execPath,
      [path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--typeRoots', path.join(repo, 'node_modules', '@types'), 'types/use.cts', 'types/use.mts', '--traceResolution'],
      app,
    );
    const resolved = tsc.stdout.split('\n').filter((line) => line.includes("Module name 'librechat-supabase' was successfully resolved"));
    expect(tsc.stdout.split('\n').filter((line) => /error TS/.test(line))).toEqual([]);
    expect(tsc.code).toBe(0);
    expect(resolved.some((line) => line.includes('dist/index.d.cts'))).toBe(true);
    expect(resolved.some((line) => line.includes('dist/index.d.ts'))).toBe(true);
  });

  it('installs the librechat-supabase bin, whose --help lists every command group', async () => {
    const help = await run('npx', ['--no-install', 'librechat-supabase', '--help'], app);
    expectSuccess(help, 'librechat-supabase --help');
    for (const group of ['users', 'tenants', 'library', 'migrate', 'doctor', 'secrets', 'serve', 'up']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${group}\\b`, 'm'));
    }
    const version = await run('npx', ['--no-install', 'librechat-supabase', '--version'], app);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')).version);
  });

  it('finds its shipped migrations from the installed location (migrate --status against a real database)', async () => {
    // Compared with what was packed (other work may add migrations to the tree while this file runs).
    const packedMigrations = packedFiles.filter((file) => file.startsWith('supabase/migrations/')).map((file) => path.basename(file)).sort();
    expect(readdirSync(path.join(installed, 'supabase', 'migrations')).sort()).toEqual(packedMigrations);
    const status = await run(path.join(app, 'node_modules', '.bin', 'librechat-supabase'), ['migrate', '--status'], app, { SUPABASE_DB_URL: db.url });
    expectSuccess(status, 'migrate --status');
    expect(status.stdout).toContain(`Applied (${packedMigrations.length}):`);
    expect(status.stdout).toContain('✓ All migrations applied');
    expect(existsSync(path.join(installed, 'src'))).toBe(false);
  });
});
