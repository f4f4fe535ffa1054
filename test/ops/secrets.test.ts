import { createCipheriv, createDecipheriv } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fernetKey } from '../../src/core/config.js';
import { mergeEnvText, parseEnvText } from '../../src/ops/env-file.js';
import { generateSecrets, SECRET_SPECS, writeSecrets } from '../../src/ops/secrets.js';
import { decrypt, encrypt } from '../../src/users/fernet.js';
import { runCli } from './cli.js';

const cli = (args: string[], cwd: string) => runCli(args, { cwd, env: {} });
const tempDir = () => mkdtempSync(path.join(os.tmpdir(), 'lcs-secrets-'));
const NAMES = SECRET_SPECS.map((spec) => spec.name);

describe('secrets: formats', () => {
  const secrets = generateSecrets();

  it('generates every secret the deployment needs', () => {
    expect(Object.keys(secrets)).toEqual([
      'JWT_SECRET',
      'JWT_REFRESH_SECRET',
      'CREDS_KEY',
      'CREDS_IV',
      'MEILI_MASTER_KEY',
      'LIBRECHAT_ENCRYPTION_KEY',
      'LCS_API_TOKEN',
      'LCS_WEBHOOK_SECRET',
    ]);
  });

  it('JWT secrets and CREDS_KEY are 32 bytes of hex, CREDS_IV 16 bytes of hex (LibreChat reads them as hex)', () => {
    expect(secrets.JWT_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(secrets.JWT_REFRESH_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(secrets.CREDS_KEY).toMatch(/^[0-9a-f]{64}$/);
    expect(secrets.CREDS_IV).toMatch(/^[0-9a-f]{32}$/);
    expect(secrets.JWT_SECRET).not.toBe(secrets.JWT_REFRESH_SECRET);
  });

  it('CREDS_KEY/CREDS_IV work as LibreChat uses them: AES-256-CBC with hex-decoded key and iv', () => {
    const key = Buffer.from(secrets.CREDS_KEY!, 'hex');
    const iv = Buffer.from(secrets.CREDS_IV!, 'hex');
    const cipher = createCipheriv('aes-256-cbc', key, iv);
    const encrypted = Buffer.concat([cipher.update('sk-user-api-key'), cipher.final()]);
    const decipher = createDecipheriv('aes-256-cbc', key, iv);
    expect(Buffer.concat([decipher.update(encrypted), decipher.final()]).toString()).toBe('sk-user-api-key');
  });

  it('LIBRECHAT_ENCRYPTION_KEY is a Fernet key: 44 characters of URL-safe base64 with padding, decoding to 32 bytes', () => {
    const key = secrets.LIBRECHAT_ENCRYPTION_KEY!;
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(Buffer.from(key, 'base64url')).toHaveLength(32);
    expect(fernetKey.safeParse(key).success).toBe(true);
    expect(decrypt(key, encrypt(key, 'pässword'))).toBe('pässword');
  });

  it('tokens are long enough for the settings and every run is different', () => {
    expect(secrets.MEILI_MASTER_KEY).toMatch(/^[0-9a-f]{64}$/);
    expect(secrets.LCS_API_TOKEN).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(secrets.LCS_WEBHOOK_SECRET).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const again = generateSecrets();
    for (const name of NAMES) expect(again[name]).not.toBe(secrets[name]);
  });
});

describe('secrets: merging into an env file', () => {
  const original = [
    '# LibreChat settings — keep this comment',
    'HOST=0.0.0.0',
    'JWT_SECRET=existing-jwt-secret',
    'export CREDS_KEY=',
    '# JWT_REFRESH_SECRET=commented-out-stays-commented',
    'MONGO_URI="mongodb://mongodb:27017/LibreChat" # inline comment',
    '',
    'CREDS_IV=   # empty with a comment',
    'MEILI_MASTER_KEY=first',
    'MEILI_MASTER_KEY=',
    '',
  ].join('\n');
  const values = { JWT_SECRET: 'new-jwt', CREDS_KEY: 'new-key', CREDS_IV: 'new-iv', JWT_REFRESH_SECRET: 'new-refresh', MEILI_MASTER_KEY: 'new-meili' };

  it('preserves every other line and comment, fills empty values in place, appends missing ones, keeps set ones', () => {
    const merged = mergeEnvText(original, values, { header: 'added' });
    expect(merged.kept).toEqual(['JWT_SECRET']);
    expect(merged.filled).toEqual(['CREDS_KEY', 'CREDS_IV', 'MEILI_MASTER_KEY']);
    expect(merged.added).toEqual(['JWT_REFRESH_SECRET']);
    expect(merged.replaced).toEqual([]);
    expect(merged.text).toBe(
      [
        '# LibreChat settings — keep this comment',
        'HOST=0.0.0.0',
        'JWT_SECRET=existing-jwt-secret',
        'export CREDS_KEY=new-key',
        '# JWT_REFRESH_SECRET=commented-out-stays-commented',
        'MONGO_URI="mongodb://mongodb:27017/LibreChat" # inline comment',
        '',
        'CREDS_IV=new-iv',
        'MEILI_MASTER_KEY=first',
        'MEILI_MASTER_KEY=new-meili',
        '',
        '# added',
        'JWT_REFRESH_SECRET=new-refresh',
        '',
      ].join('\n'),
    );
    const parsed = parseEnvText(merged.text);
    expect(parsed.MONGO_URI).toBe('mongodb://mongodb:27017/LibreChat');
    expect(parsed.MEILI_MASTER_KEY).toBe('new-meili');
  });

  it('never overwrites a non-empty value without force; with force it replaces in place', () => {
    const forced = mergeEnvText(original, values, { force: true });
    expect(forced.replaced).toEqual(['JWT_SECRET']);
    expect(forced.text.split('\n')[2]).toBe('JWT_SECRET=new-jwt');
    expect(forced.text.split('\n')[0]).toBe('# LibreChat settings — keep this comment');
  });

  it('keeps CRLF line endings and a file without a final newline', () => {
    const merged = mergeEnvText('A=1\r\nJWT_SECRET=\r\nB=2', { JWT_SECRET: 'x' });
    expect(merged.text).toBe('A=1\r\nJWT_SECRET=x\r\nB=2\r\n');
  });

  it('writeSecrets creates the file with mode 0600 atomically and reports what it kept', () => {
    const dir = tempDir();
    const file = path.join(dir, '.env');
    writeFileSync(file, 'KEEP=me\nJWT_SECRET=already-set\n', { mode: 0o644 });
    const result = writeSecrets(file);
    expect(result.kept).toEqual(['JWT_SECRET']);
    expect(result.added).toEqual(NAMES.filter((name) => name !== 'JWT_SECRET'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const parsed = parseEnvText(readFileSync(file, 'utf8'));
    expect(parsed.KEEP).toBe('me');
    expect(parsed.JWT_SECRET).toBe('already-set');
    expect(parsed.CREDS_IV).toMatch(/^[0-9a-f]{32}$/);
    // No temporary file is left next to it.
    expect(readdirSync(dir)).toEqual(['.env']);

    const again = writeSecrets(file);
    expect(again.added).toEqual([]);
    expect(again.kept).toEqual(NAMES);
    expect(parseEnvText(readFileSync(file, 'utf8'))).toEqual(parsed);
  });
});

describe('secrets command', () => {
  it('prints the secrets to stdout only, as env lines', async () => {
    const { stdout, stderr, code } = await cli(['secrets'], tempDir());
    expect(code).toBe(0);
    const parsed = parseEnvText(stdout);
    expect(Object.keys(parsed)).toEqual(NAMES);
    for (const value of Object.values(parsed)) expect(stderr).not.toContain(value);
  });

  it('--write merges into a file, prints no secret, reports kept values, and --force replaces them', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, '.env'), '# mine\nLCS_API_TOKEN=my-own-token-that-is-long-enough\n');
    const first = await cli(['secrets', '--write', '.env'], dir);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('– kept existing values: LCS_API_TOKEN (pass --force to replace them)');
    const written = parseEnvText(readFileSync(path.join(dir, '.env'), 'utf8'));
    for (const name of NAMES.filter((n) => n !== 'LCS_API_TOKEN')) expect(first.stdout + first.stderr).not.toContain(written[name]);
    expect(statSync(path.join(dir, '.env')).mode & 0o777).toBe(0o600);

    const forced = await cli(['secrets', '--write', '.env', '--force', '--json'], dir);
    expect(forced.code).toBe(0);
    const report = JSON.parse(forced.stdout) as { replaced: string[]; kept: string[] };
    expect(report.replaced).toEqual(NAMES);
    expect(report.kept).toEqual([]);
    const after = parseEnvText(readFileSync(path.join(dir, '.env'), 'utf8'));
    expect(after.LCS_API_TOKEN).not.toBe('my-own-token-that-is-long-enough');
    expect(readFileSync(path.join(dir, '.env'), 'utf8').startsWith('# mine\n')).toBe(true);
    expect(forced.stderr).toContain('⚠ CREDS_KEY changed: API keys users stored in LibreChat can no longer be decrypted.');
  });

  it('--force without --write is a usage error', async () => {
    const { code, stderr } = await cli(['secrets', '--force'], tempDir());
    expect(code).toBe(2);
    expect(stderr).toContain('--force only makes sense with --write FILE.');
  });
});
