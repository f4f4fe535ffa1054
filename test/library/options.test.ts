import { describe, expect, it } from 'vitest';
import { createLibreChatSupabase } from '../../src/library/client.js';
import { resolveLibraryOptions } from '../../src/library/options.js';

describe('createLibreChatSupabase options', () => {
  it('lists every problem at creation, with the fix, and never echoes a secret', () => {
    let message = '';
    try {
      resolveLibraryOptions({ supabaseUrl: 'not a url', supabaseServiceRoleKey: 'short-secret-value', batchSize: -1 }, {});
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('supabaseUrl');
    expect(message).toContain('supabaseServiceRoleKey is too short');
    expect(message).toContain('batchSize');
    expect(message).toContain("mongoose: require('mongoose')");
    expect(message).not.toContain('short-secret-value');
  });

  it('requires a database and LibreChat\'s MongoDB', () => {
    expect(() => resolveLibraryOptions({}, {})).toThrow(/no database.*\n.*no LibreChat MongoDB/s);
    expect(() => resolveLibraryOptions({ supabaseUrl: 'https://x.supabase.co' }, {})).toThrow(/service_role key/);
  });

  it('falls back to the environment and picks the transport', () => {
    const env = { SUPABASE_DB_URL: 'postgres://u:p@h:5432/d', LIBRECHAT_MONGO_URI: 'mongodb://m:27017/LibreChat' };
    expect(resolveLibraryOptions({}, env).transport).toBe('postgres');
    const rest = resolveLibraryOptions({ supabaseUrl: 'https://x.supabase.co', supabaseServiceRoleKey: 'x'.repeat(40), librechatMongoUri: 'mongodb://m/LibreChat' }, {});
    expect(rest.transport).toBe('supabase-rpc');
  });

  it('rejects a mongoose option that is not mongoose', () => {
    expect(() =>
      createLibreChatSupabase({ databaseUrl: 'postgres://u:p@127.0.0.1:1/d', mongoose: { not: 'mongoose' } }),
    ).toThrow(/neither a mongoose instance nor a mongoose Connection/);
  });
});
