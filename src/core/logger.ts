import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { redactSecretsInText } from './errors.js';

/** The logger shape every public entry point accepts: pino, winston (LibreChat's), console, or ours. */
export interface HostLogger {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- winston's and pino's own signatures
  info: (message: string, ...meta: any[]) => unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  warn: (message: string, ...meta: any[]) => unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  error: (message: string, ...meta: any[]) => unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  debug: (message: string, ...meta: any[]) => unknown;
}

/** Our internal logger: message first, then structured fields (already redacted). */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Field names whose values are never logged, wherever they appear. */
export const SECRET_FIELD_NAMES = [
  'password',
  'passwordHash',
  'librechat_password_encrypted',
  'token',
  'apiToken',
  'apikey',
  'apiKey',
  'authorization',
  'secret',
  'serviceRoleKey',
  'supabaseServiceRoleKey',
  'encryptionKey',
  'SUPABASE_SERVICE_ROLE_KEY',
  'LIBRECHAT_ENCRYPTION_KEY',
  'LCS_API_TOKEN',
  'LCS_WEBHOOK_SECRET',
] as const;

const secretNames = new Set<string>(SECRET_FIELD_NAMES.map((name) => name.toLowerCase()));

export function isSecretFieldName(name: string): boolean {
  const lower = name.toLowerCase();
  return secretNames.has(lower) || /(password|passwd|secret|token|api_?key|service_?role_?key|private_?key|cookie|credentials?)$/i.test(name);
}

/** Deep copy of `value` with secret fields replaced and passwords cut out of connection strings. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[deep]';
  if (typeof value === 'string') return redactSecretsInText(value);
  if (value instanceof Error) {
    return { name: value.name, message: redactSecretsInText(value.message), code: (value as { code?: unknown }).code };
  }
  // Objects without own enumerable fields would otherwise log as {} (or, for buffers, as every byte).
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (value instanceof URL) return redactSecretsInText(value.href);
  if (ArrayBuffer.isView(value)) return `[binary ${value.byteLength} bytes]`;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      out[key] = isSecretFieldName(key) && field != null && field !== '' ? '[redacted]' : redact(field, depth + 1);
    }
    return out;
  }
  return value;
}

export interface CreateLoggerOptions {
  /** A host logger (winston, pino, console); when absent a pino logger writing JSON to stderr is created. */
  logger?: HostLogger;
  level?: string;
  name?: string;
  /** Where the pino logger writes its JSON lines; default stderr. */
  destination?: DestinationStream;
}

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  if (options.logger) return fromHostLogger(options.logger, {});
  const base = pino({
    name: options.name ?? 'librechat-supabase',
    level: options.level ?? process.env.LCS_LOG_LEVEL ?? 'info',
    redact: { paths: SECRET_FIELD_NAMES.flatMap((name) => [name, `*.${name}`]), censor: '[redacted]' },
  }, options.destination ?? pino.destination(2));
  return fromPino(base);
}

function fromPino(base: PinoLogger): Logger {
  const write = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: Record<string, unknown>) => {
    if (fields) base[level](redact(fields) as object, redactSecretsInText(message));
    else base[level](redactSecretsInText(message));
  };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (bindings) => fromPino(base.child(redact(bindings) as Record<string, unknown>)),
  };
}

function fromHostLogger(host: HostLogger, bindings: Record<string, unknown>): Logger {
  const prefix = '[librechat-supabase]';
  const write = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: Record<string, unknown>) => {
    const merged = { ...bindings, ...fields };
    const text = `${prefix} ${redactSecretsInText(message)}`;
    try {
      if (Object.keys(merged).length > 0) host[level](text, redact(merged));
      else host[level](text);
    } catch {
      // A broken host logger must never break the host application.
    }
  };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (more) => fromHostLogger(host, { ...bindings, ...more }),
  };
}

/** A logger that drops everything (tests, quiet CLI runs). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
