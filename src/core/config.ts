import { z } from 'zod';
import { LcsError, redactConnectionStrings } from './errors.js';

/**
 * Every setting of the package, in one table: its option name, environment variable, validation, whether it is
 * a secret, and how to fix a bad value. The README's configuration table lists exactly these.
 */
interface SettingSpec {
  env: string;
  schema: z.ZodType;
  secret: boolean;
  description: string;
  fix: string;
}

const postgresUrl = z
  .string()
  .trim()
  .refine((value) => /^postgres(ql)?:\/\//.test(value), { message: 'must start with postgres:// or postgresql://' })
  .refine((value) => canParseUrl(value), { message: 'is not a valid URL' });

const httpUrl = z
  .string()
  .trim()
  .refine((value) => canParseUrl(value) && /^https?:$/.test(new URL(value).protocol), {
    message: 'must be an http:// or https:// URL',
  });

const mongoUrl = z
  .string()
  .trim()
  .refine((value) => /^mongodb(\+srv)?:\/\//.test(value), { message: 'must start with mongodb:// or mongodb+srv://' });

/** A Fernet key: 32 bytes in URL-safe base64 (44 characters with padding), as Python's Fernet.generate_key(). */
export const fernetKey = z
  .string()
  .trim()
  .refine((value) => /^[A-Za-z0-9_-]{43}=$/.test(value) && Buffer.from(value, 'base64url').length === 32, {
    message: 'must be a Fernet key: 32 bytes in URL-safe base64 (44 characters ending in "=")',
  });

const port = z.coerce
  .number({ error: 'must be a number' })
  .int('must be a whole number')
  .min(1, 'must be from 1 to 65535')
  .max(65535, 'must be from 1 to 65535');

export const SETTINGS = {
  supabaseUrl: {
    env: 'SUPABASE_URL',
    schema: httpUrl,
    secret: false,
    description: 'Supabase project URL (REST/RPC transport, Auth admin API).',
    fix: 'Copy "Project URL" from Supabase → Project Settings → API, e.g. https://abcd.supabase.co',
  },
  supabaseServiceRoleKey: {
    env: 'SUPABASE_SERVICE_ROLE_KEY',
    schema: z.string().trim().min(20, 'is too short to be a Supabase key'),
    secret: true,
    description: 'Supabase service_role key (server-side only; never the anon key).',
    fix: 'Copy the service_role secret from Supabase → Project Settings → API',
  },
  supabaseDbUrl: {
    env: 'SUPABASE_DB_URL',
    schema: postgresUrl,
    secret: true,
    description: 'Direct or session-pooler (port 5432) Postgres connection string of the Supabase database.',
    fix: 'Use the "Session pooler" or direct connection string from Supabase → Connect, e.g. postgresql://postgres:PASSWORD@db.abcd.supabase.co:5432/postgres',
  },
  librechatMongoUri: {
    env: 'LIBRECHAT_MONGO_URI',
    schema: mongoUrl,
    secret: true,
    description: "LibreChat's MongoDB connection string (the MONGO_URI LibreChat uses).",
    fix: 'Use the same value as MONGO_URI in LibreChat\'s .env, e.g. mongodb://mongodb:27017/LibreChat',
  },
  librechatApiUrl: {
    env: 'LIBRECHAT_API_URL',
    schema: httpUrl,
    secret: false,
    description: 'Base URL of the LibreChat server (for /health and the http provisioner).',
    fix: 'e.g. http://librechat:3080 (inside docker compose) or http://localhost:3080',
  },
  librechatServiceUserEmail: {
    env: 'LIBRECHAT_SERVICE_USER_EMAIL',
    schema: z.string().trim().toLowerCase().pipe(z.email('must be an email address')),
    secret: false,
    description: 'LibreChat user that owns templates pulled from Supabase and grants organization access (created without a password if missing).',
    fix: 'An email for a dedicated LibreChat account, e.g. library@your-company.example',
  },
  librechatEncryptionKey: {
    env: 'LIBRECHAT_ENCRYPTION_KEY',
    schema: fernetKey,
    secret: true,
    description: 'Fernet key that encrypts stored LibreChat passwords of provisioned users.',
    fix: 'Generate one with `npx librechat-supabase secrets` (or Python: Fernet.generate_key())',
  },
  apiToken: {
    env: 'LCS_API_TOKEN',
    schema: z.string().trim().min(24, 'must be at least 24 characters'),
    secret: true,
    description: 'Bearer token required by the sync service REST API and dashboard.',
    fix: 'Generate one with `npx librechat-supabase secrets`',
  },
  webhookSecret: {
    env: 'LCS_WEBHOOK_SECRET',
    schema: z.string().trim().min(24, 'must be at least 24 characters'),
    secret: true,
    description: 'Shared secret the sign-up webhook (Edge Function) presents to the sync service.',
    fix: 'Generate one with `npx librechat-supabase secrets` and set the same value with `supabase secrets set`',
  },
  port: {
    env: 'LCS_PORT',
    schema: port,
    secret: false,
    description: 'Port of the sync service (serve/up). Default 9443.',
    fix: 'A number from 1 to 65535',
  },
  nodeId: {
    env: 'LCS_NODE_ID',
    schema: z.string().trim().regex(/^[A-Za-z0-9._-]{1,64}$/, 'may hold letters, digits, ".", "_" and "-" (at most 64)'),
    secret: false,
    description: 'Unique id of this sync node. Default: hostname plus a random suffix.',
    fix: 'e.g. sync-node-a',
  },
  clusterName: {
    env: 'LCS_CLUSTER_NAME',
    schema: z.string().trim().regex(/^[A-Za-z0-9._-]{1,64}$/, 'may hold letters, digits, ".", "_" and "-" (at most 64)'),
    secret: false,
    description: 'Name of the sync cluster. Default default-cluster.',
    fix: 'e.g. default-cluster',
  },
  dataDir: {
    env: 'LCS_DATA_DIR',
    schema: z.string().trim().min(1, 'must not be blank'),
    secret: false,
    description: 'Data folder of `up` (embedded Postgres). Default ./.librechat-supabase',
    fix: 'A writable folder path',
  },
  logLevel: {
    env: 'LCS_LOG_LEVEL',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    secret: false,
    description: 'Log level. Default info.',
    fix: 'One of fatal, error, warn, info, debug, trace, silent',
  },
} satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;

export type Config = {
  supabaseUrl?: string;
  supabaseServiceRoleKey?: string;
  supabaseDbUrl?: string;
  librechatMongoUri?: string;
  librechatApiUrl?: string;
  librechatServiceUserEmail?: string;
  librechatEncryptionKey?: string;
  apiToken?: string;
  webhookSecret?: string;
  port: number;
  nodeId?: string;
  clusterName: string;
  dataDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
};

const DEFAULTS = { port: 9443, clusterName: 'default-cluster', dataDir: './.librechat-supabase', logLevel: 'info' } as const;

export interface LoadConfigOptions {
  /** Settings that this command or entry point cannot work without. */
  required?: SettingName[];
  /** Environment to read; default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Reads every setting from explicit options (which win) and the environment, validates them all, and throws
 * one LcsError (code LCS_CONFIG_INVALID) that lists every problem with the variable's name and its fix.
 */
export function loadConfig(options: Partial<Record<SettingName, unknown>> = {}, load: LoadConfigOptions = {}): Config {
  const env = load.env ?? process.env;
  const problems: string[] = [];
  const values: Record<string, unknown> = { ...DEFAULTS };

  for (const [name, spec] of Object.entries(SETTINGS) as [SettingName, SettingSpec][]) {
    const given = options[name];
    const raw = given !== undefined && given !== null && given !== '' ? given : env[spec.env];
    if (raw === undefined || raw === '') continue;
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) {
      values[name] = parsed.data;
    } else {
      const reason = parsed.error.issues.map((issue) => issue.message).join('; ');
      const shown = spec.secret ? '' : ` (got "${redactConnectionStrings(String(raw)).slice(0, 80)}")`;
      problems.push(`${spec.env} ${reason}${shown}. Fix: ${spec.fix}`);
    }
  }

  for (const name of load.required ?? []) {
    const spec = SETTINGS[name];
    if (values[name] === undefined && !problems.some((line) => line.startsWith(`${spec.env} `))) {
      problems.push(`${spec.env} is not set. ${spec.description} Fix: ${spec.fix}`);
    }
  }

  if (problems.length > 0) {
    throw new LcsError(
      'LCS_CONFIG_INVALID',
      `Configuration is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((line) => `  - ${line}`).join('\n')}`,
    );
  }
  return values as Config;
}

/** The configuration as it may be printed or logged: secrets show only whether they are set. */
export function describeConfig(config: Partial<Config>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [name, spec] of Object.entries(SETTINGS) as [SettingName, SettingSpec][]) {
    const value = config[name];
    if (value === undefined) out[spec.env] = '(not set)';
    else if (spec.secret) out[spec.env] = '[set, hidden]';
    else out[spec.env] = typeof value === 'number' ? value : redactConnectionStrings(String(value));
  }
  return out;
}

function canParseUrl(value: string): boolean {
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}
