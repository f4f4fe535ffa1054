import { describe, expect, it } from 'vitest';
import { createLibreChatSupabase } from '../../src/library/client.js';
import { createTestDatabase } from '../support/database.js';

const db = await createTestDatabase();

function capturingLogger() {
  const lines: string[] = [];
  const record = (level: string) => (message: string, ...meta: unknown[]) => {
    lines.push(`${level} ${message} ${JSON.stringify(meta)}`);
  };
  return { lines, logger: { info: record('info'), warn: record('warn'), error: record('error'), debug: record('debug') } };
}

describe('the library sync never logs a secret', () => {
  it('while Postgres rejects its password and LibreChat MongoDB is down, logs carry neither password', async () => {
    const url = new URL(db.url);
    url.password = 'Wr0ng-Pa55word-XYZ';
    const mongoPassword = 'M0ng0-Secret-QRS';
    const { lines, logger } = capturingLogger();
    const lcs = createLibreChatSupabase({
      databaseUrl: url.toString(),
      librechatMongoUri: `mongodb://admin:${mongoPassword}@127.0.0.1:1/LibreChat?serverSelectionTimeoutMS=200`,
      logger,
      retryDelayMs: 10,
      backgroundIntervalMs: 0,
    } as Parameters<typeof createLibreChatSupabase>[0]);
    lcs.internals.usage.record({ organizationId: '00000000-0000-4000-8000-000000000001', itemType: 'agent', librechatId: 'agent_x', at: new Date() });
    lcs.internals.sync.notify({ kind: 'agent', agentId: 'agent_x' });
    await lcs.internals.usage.flush().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await lcs.close({ timeoutMs: 200 });
    expect(lines.some((line) => /retry|failed|not yet written/.test(line))).toBe(true);
    for (const line of lines) {
      expect(line).not.toContain('Wr0ng-Pa55word-XYZ');
      expect(line).not.toContain(mongoPassword);
    }
  });

  it('the Supabase key never appears in errors or logs', async () => {
    const key = `eyJhbGciOiJIUzI1NiJ9.${Buffer.from('{"role":"service_role"}').toString('base64url')}.c2lnbmF0dXJlLXNlY3JldC1wYXJ0`;
    const { lines, logger } = capturingLogger();
    const lcs = createLibreChatSupabase({ supabaseUrl: 'http://127.0.0.1:1', supabaseServiceRoleKey: key, librechatMongoUri: 'mongodb://127.0.0.1:1/x', logger, backgroundIntervalMs: 0 } as Parameters<typeof createLibreChatSupabase>[0]);
    const error = await lcs.internals.store.status().catch((caught: unknown) => caught as Error);
    lcs.internals.usage.record({ organizationId: '00000000-0000-4000-8000-000000000001', itemType: 'agent', librechatId: 'agent_y', at: new Date() });
    await lcs.internals.usage.flush().catch(() => undefined);
    await lcs.close({ timeoutMs: 200 });
    expect(String((error as Error).message)).not.toContain(key);
    for (const line of lines) expect(line).not.toContain(key.slice(-20));
  });
});
