import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { createLogger, redact, type HostLogger } from '../../src/core/logger.js';
import { describeError } from '../../src/core/errors.js';

const dbPassword = 'Pg-Pa55word-never-logged';
const serviceRoleKey = 'eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.never-logged-signature-xyz';
const apiToken = 'api-token-never-logged-0123456789';
const cookieValue = 'session-cookie-never-logged';
const allSecrets = [dbPassword, serviceRoleKey, apiToken, cookieValue];

/** Things a capability might carelessly log: config objects, request headers, errors, URLs. */
function carelessFields(): Record<string, unknown> {
  return {
    databaseUrl: `postgres://postgres:${dbPassword}@db.example.com:5432/postgres`,
    supabaseServiceRoleKey: serviceRoleKey,
    nested: { config: { apiToken, password: dbPassword }, list: [{ authorization: `Bearer ${apiToken}` }] },
    headers: { Authorization: `Bearer ${serviceRoleKey}`, cookie: cookieValue, 'x-request-id': 'req-1' },
    error: new Error(`connect to postgresql://postgres:${dbPassword}@10.0.0.1/postgres failed`),
    target: new URL(`postgres://postgres:${dbPassword}@db.example.com/postgres`),
    at: new Date('2026-01-02T03:04:05.000Z'),
    count: 3,
  };
}

function expectNoSecret(text: string): void {
  for (const secret of allSecrets) expect(text).not.toContain(secret);
}

function captureStream(): { stream: Writable; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const text = () => chunks.join('');
  return { stream, text, lines: () => text().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('pino logger (the default)', () => {
  it('writes JSON lines with secret fields redacted and useful fields kept', () => {
    const out = captureStream();
    const logger = createLogger({ destination: out.stream, level: 'debug' });
    logger.info(`connecting with key ${serviceRoleKey} to postgres://u:${dbPassword}@h/db`, carelessFields());
    logger.child({ token: apiToken, tenant: 'acme' }).warn('child logger', { password: dbPassword });
    logger.debug('debug line');

    expectNoSecret(out.text());
    const [first, second, third] = out.lines();
    expect(first).toMatchObject({
      level: 30,
      name: 'librechat-supabase',
      msg: 'connecting with key [redacted jwt] to postgres://u:***@h/db',
      databaseUrl: 'postgres://postgres:***@db.example.com:5432/postgres',
      supabaseServiceRoleKey: '[redacted]',
      nested: { config: { apiToken: '[redacted]', password: '[redacted]' }, list: [{ authorization: '[redacted]' }] },
      headers: { Authorization: '[redacted]', cookie: '[redacted]', 'x-request-id': 'req-1' },
      error: { name: 'Error', message: 'connect to postgresql://postgres:***@10.0.0.1/postgres failed' },
      target: 'postgres://postgres:***@db.example.com/postgres',
      at: '2026-01-02T03:04:05.000Z',
      count: 3,
    });
    expect(second).toMatchObject({ level: 40, msg: 'child logger', token: '[redacted]', tenant: 'acme', password: '[redacted]' });
    expect(third).toMatchObject({ level: 20, msg: 'debug line' });
  });

  it('respects the level', () => {
    const out = captureStream();
    const logger = createLogger({ destination: out.stream, level: 'warn' });
    logger.info('hidden');
    logger.error('shown');
    expect(out.lines().map((line) => line.msg)).toEqual(['shown']);
  });
});

describe('host logger (LibreChat passes winston)', () => {
  it('hands a winston-like logger only redacted arguments, prefixed with the package name', () => {
    const calls: Array<{ level: string; args: unknown[] }> = [];
    const record = (level: string) => (...args: unknown[]) => calls.push({ level, args });
    const host: HostLogger = { info: record('info'), warn: record('warn'), error: record('error'), debug: record('debug') };
    const logger = createLogger({ logger: host });

    logger.error(`failed with Bearer ${apiToken}`, carelessFields());
    logger.child({ apiKey: serviceRoleKey, job: 'sync' }).info('from child');
    logger.debug('plain');

    expectNoSecret(JSON.stringify(calls));
    expect(calls.map((c) => c.level)).toEqual(['error', 'info', 'debug']);
    expect(calls[0]!.args[0]).toBe('[librechat-supabase] failed with Bearer [redacted]');
    expect(calls[0]!.args[1]).toMatchObject({ supabaseServiceRoleKey: '[redacted]', headers: { cookie: '[redacted]' }, count: 3 });
    expect(calls[1]!.args).toEqual(['[librechat-supabase] from child', { apiKey: '[redacted]', job: 'sync' }]);
    expect(calls[2]!.args).toEqual(['[librechat-supabase] plain']);
  });

  it('works with a real winston logger and never leaks into its output', () => {
    const out = captureStream();
    const host = winston.createLogger({
      level: 'debug',
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream: out.stream })],
    });
    const logger = createLogger({ logger: host });
    logger.warn('winston sees this', carelessFields());

    expectNoSecret(out.text());
    const [line] = out.lines();
    expect(line).toMatchObject({ level: 'warn', message: '[librechat-supabase] winston sees this', supabaseServiceRoleKey: '[redacted]' });
  });

  it('never lets a throwing host logger break the host application', () => {
    const broken: HostLogger = {
      info: () => {
        throw new Error('transport down');
      },
      warn: () => undefined,
      error: () => undefined,
      debug: () => undefined,
    };
    expect(() => createLogger({ logger: broken }).info('still fine', { a: 1 })).not.toThrow();
  });
});

describe('redact and describeError', () => {
  it('redacts deeply but stops at a depth limit instead of recursing forever', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(() => JSON.stringify(redact(cyclic))).not.toThrow();
    expect(redact({ buffer: Buffer.from('secret bytes') })).toEqual({ buffer: '[binary 12 bytes]' });
  });

  it('describes errors without connection-string passwords or tokens', () => {
    const text = describeError(new Error(`auth failed for postgres://postgres:${dbPassword}@h/db using ${serviceRoleKey}`));
    expect(text).toBe('auth failed for postgres://postgres:***@h/db using [redacted jwt]');
    expect(describeError(`sb_secret_0123456789abcdef leaked`)).toBe('sb_secret_[redacted] leaked');
  });
});
