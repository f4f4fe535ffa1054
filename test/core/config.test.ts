import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig, SETTINGS, type SettingName } from '../../src/core/config.js';
import { LcsError, describeError } from '../../src/core/errors.js';

// Values that must never be printed anywhere. Each is distinctive so a leak is found by a plain substring search.
const SECRETS = {
  dbPassword: 'Db-Pa55word-never-shown',
  mongoPassword: 'Mongo-Pa55word-never-shown',
  serviceRoleKey: 'eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.service-role-signature-never-shown',
  encryptionKey: Buffer.alloc(32, 7).toString('base64url') + '=',
  apiToken: 'api-token-never-shown-0123456789abcdef',
  webhookSecret: 'webhook-secret-never-shown-0123456789',
};

const validEnv = {
  SUPABASE_URL: 'https://abcd.supabase.co',
  SUPABASE_SERVICE_ROLE_KEY: SECRETS.serviceRoleKey,
  SUPABASE_DB_URL: `postgresql://postgres:${SECRETS.dbPassword}@db.abcd.supabase.co:5432/postgres`,
  LIBRECHAT_MONGO_URI: `mongodb://librechat:${SECRETS.mongoPassword}@mongodb:27017/LibreChat`,
  LIBRECHAT_API_URL: 'http://librechat:3080',
  LIBRECHAT_ENCRYPTION_KEY: SECRETS.encryptionKey,
  LCS_API_TOKEN: SECRETS.apiToken,
  LCS_WEBHOOK_SECRET: SECRETS.webhookSecret,
  LCS_PORT: '9555',
  LCS_NODE_ID: 'sync-node-a',
};

function expectNoSecret(text: string): void {
  for (const [name, secret] of Object.entries(SECRETS)) {
    expect(text, `${name} leaked`).not.toContain(secret);
  }
}

function configError(run: () => unknown): LcsError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LcsError);
    return error as LcsError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('reads every setting from the environment, with defaults for the rest', () => {
    const config = loadConfig({}, { env: validEnv });
    expect(config).toMatchObject({
      supabaseUrl: 'https://abcd.supabase.co',
      supabaseServiceRoleKey: SECRETS.serviceRoleKey,
      supabaseDbUrl: validEnv.SUPABASE_DB_URL,
      port: 9555,
      nodeId: 'sync-node-a',
      clusterName: 'default-cluster',
      dataDir: './.librechat-supabase',
      logLevel: 'info',
    });
    expect(loadConfig({}, { env: {} })).toEqual({ port: 9443, clusterName: 'default-cluster', dataDir: './.librechat-supabase', logLevel: 'info' });
  });

  it('lets explicit options win over the environment and treats empty strings as unset', () => {
    const config = loadConfig({ port: 7000, supabaseDbUrl: 'postgres://localhost/other', clusterName: '' }, { env: { ...validEnv, LCS_CLUSTER_NAME: 'from-env' } });
    expect(config.port).toBe(7000);
    expect(config.supabaseDbUrl).toBe('postgres://localhost/other');
    expect(config.clusterName).toBe('from-env');
    expect(loadConfig({}, { env: { LCS_PORT: '' } }).port).toBe(9443);
  });

  it('lists every problem in one message, each with its variable name and its fix', () => {
    const error = configError(() =>
      loadConfig(
        {},
        {
          env: {
            SUPABASE_URL: 'abcd.supabase.co',
            SUPABASE_DB_URL: 'mysql://root@db/x',
            LIBRECHAT_MONGO_URI: 'http://mongodb:27017',
            LIBRECHAT_ENCRYPTION_KEY: 'too-short',
            LCS_PORT: 'ninety',
            LCS_LOG_LEVEL: 'loud',
            LCS_NODE_ID: 'has spaces',
          },
          required: ['supabaseServiceRoleKey', 'apiToken'],
        },
      ),
    );
    expect(error.code).toBe('LCS_CONFIG_INVALID');
    expect(error.message).toMatch(/^Configuration is invalid \(9 problems\):/);
    const lines = error.message.split('\n').slice(1);
    expect(lines).toHaveLength(9);
    const expected: Array<[string, RegExp]> = [
      ['SUPABASE_URL', /must be an http:\/\/ or https:\/\/ URL \(got "abcd\.supabase\.co"\)/],
      ['SUPABASE_DB_URL', /must start with postgres:\/\/ or postgresql:\/\//],
      ['LIBRECHAT_MONGO_URI', /must start with mongodb:\/\//],
      ['LIBRECHAT_ENCRYPTION_KEY', /must be a Fernet key/],
      ['LCS_PORT', /must be a number \(got "ninety"\)/],
      ['LCS_LOG_LEVEL', /got "loud"/],
      ['LCS_NODE_ID', /may hold letters, digits/],
      ['SUPABASE_SERVICE_ROLE_KEY', /is not set/],
      ['LCS_API_TOKEN', /is not set/],
    ];
    for (const [env, reason] of expected) {
      const line = lines.find((candidate) => candidate.startsWith(`  - ${env} `));
      expect(line, `no line for ${env}`).toBeDefined();
      expect(line).toMatch(reason);
      expect(line).toContain(`Fix: ${SETTINGS[envToSetting(env)].fix}`);
    }
  });

  it('reports a bad secret without echoing it: a broken SUPABASE_DB_URL keeps its password out of the message', () => {
    const error = configError(() =>
      loadConfig(
        {},
        {
          env: {
            SUPABASE_DB_URL: `postgresql://postgres:${SECRETS.dbPassword}@db.abcd.supabase.co:port/postgres`,
            LIBRECHAT_MONGO_URI: `mongo://librechat:${SECRETS.mongoPassword}@mongodb/LibreChat`,
            SUPABASE_SERVICE_ROLE_KEY: 'tiny-key-1',
            LCS_API_TOKEN: 'tiny-token-2',
            LIBRECHAT_ENCRYPTION_KEY: `${SECRETS.encryptionKey}x`,
            // Not a secret setting, but a URL with credentials in it still hides the password.
            LIBRECHAT_API_URL: `ftp://admin:${SECRETS.webhookSecret}@librechat`,
          },
        },
      ),
    );
    expect(error.message).toContain('SUPABASE_DB_URL is not a valid URL');
    expect(error.message).toContain('LIBRECHAT_API_URL must be an http:// or https:// URL (got "ftp://admin:***@librechat")');
    expectNoSecret(error.message);
    expectNoSecret(describeError(error));
    expect(error.message).toContain('SUPABASE_SERVICE_ROLE_KEY is too short to be a Supabase key');
    expect(error.message).not.toContain('tiny-key-1');
    expect(error.message).not.toContain('tiny-token-2');
  });

  it('names the missing settings a command requires, with what they are for', () => {
    const error = configError(() => loadConfig({}, { env: {}, required: ['supabaseDbUrl'] }));
    expect(error.message).toContain('SUPABASE_DB_URL is not set. Direct or session-pooler (port 5432) Postgres connection string');
    expect(error.message).toContain('Fix: Use the "Session pooler" or direct connection string');
  });

  it('does not report a required setting twice when it is both set and invalid', () => {
    const error = configError(() => loadConfig({}, { env: { SUPABASE_DB_URL: 'nope' }, required: ['supabaseDbUrl'] }));
    expect(error.message).toMatch(/\(1 problem\)/);
  });
});

describe('describeConfig', () => {
  it('shows every setting by its variable name, secrets only as set/unset', () => {
    const described = describeConfig(loadConfig({}, { env: validEnv }));
    expect(Object.keys(described).sort()).toEqual(Object.values(SETTINGS).map((s) => s.env).sort());
    expect(described).toMatchObject({
      SUPABASE_URL: 'https://abcd.supabase.co',
      SUPABASE_SERVICE_ROLE_KEY: '[set, hidden]',
      SUPABASE_DB_URL: '[set, hidden]',
      LIBRECHAT_MONGO_URI: '[set, hidden]',
      LIBRECHAT_ENCRYPTION_KEY: '[set, hidden]',
      LCS_API_TOKEN: '[set, hidden]',
      LCS_WEBHOOK_SECRET: '[set, hidden]',
      LCS_PORT: 9555,
      LCS_NODE_ID: 'sync-node-a',
    });
    expectNoSecret(JSON.stringify(described));
    expect(describeConfig({ port: 1 }).SUPABASE_DB_URL).toBe('(not set)');
  });

  it('marks every setting that can hold a credential as secret', () => {
    const secretEnvs = Object.values(SETTINGS).filter((s) => s.secret).map((s) => s.env).sort();
    expect(secretEnvs).toEqual(
      ['LCS_API_TOKEN', 'LCS_WEBHOOK_SECRET', 'LIBRECHAT_ENCRYPTION_KEY', 'LIBRECHAT_MONGO_URI', 'SUPABASE_DB_URL', 'SUPABASE_SERVICE_ROLE_KEY'].sort(),
    );
  });

  it('cuts the password out of a non-secret URL that carries credentials', () => {
    const described = describeConfig({ supabaseUrl: `https://user:${SECRETS.dbPassword}@abcd.supabase.co`, port: 1 });
    expect(described.SUPABASE_URL).toBe('https://user:***@abcd.supabase.co');
  });
});

function envToSetting(env: string): SettingName {
  const entry = Object.entries(SETTINGS).find(([, spec]) => spec.env === env);
  if (!entry) throw new Error(`unknown variable ${env}`);
  return entry[0] as SettingName;
}
