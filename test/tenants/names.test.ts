import { describe, expect, it } from 'vitest';
import { validateTenantName } from '../../src/tenants/names.js';
import { createTestDatabase } from '../support/database.js';
import { registerTenant } from '../../src/tenants/lifecycle.js';
import { syncTenant } from '../../src/tenants/engine.js';
import { WebUiDb } from './support/webui-fixture.js';

const db = await createTestDatabase();

describe('tenant names', () => {
  it('accepts plain lower-case identifiers', () => {
    for (const name of ['acme', 'chat_test', 'a', 'tenant42', `t${'x'.repeat(62)}`]) expect(validateTenantName(name)).toBe(name);
  });

  it.each([
    ['', /must match/],
    ['chat-test', /e\.g\. "chat_test"/],
    ['Acme', /e\.g\. "acme"/],
    ['1tenant', /must match/],
    ['acme"; drop schema public cascade; --', /must match/],
    ["robert'); drop table sync_metadata.client_deployments;--", /must match/],
    ['acme corp', /must match/],
    ['tenant\u0000', /must match/],
    ['аcme', /must match/], // Cyrillic "а"
    [`t${'x'.repeat(63)}`, /must match/],
    ['public', /reserved/],
    ['auth', /reserved/],
    ['sync_metadata', /reserved/],
    ['pg_catalog', /reserved/],
    ['information_schema', /reserved/],
    ['supabase_migrations', /reserved/],
  ])('rejects %j with a clear message', (name, message) => {
    expect(() => validateTenantName(name)).toThrow(message);
  });

  it('rejects non-strings', () => {
    expect(() => validateTenantName(undefined)).toThrow(/must match/);
    expect(() => validateTenantName(42)).toThrow(/must match/);
  });

  it('hostile names never reach the database: register and sync refuse them, nothing is created', async () => {
    const f = WebUiDb.create();
    try {
      const before = await db.pool.query(`select count(*)::int as n from pg_namespace`);
      for (const name of ['x"; drop schema sync_metadata cascade; --', 'public', 'Bad-Name']) {
        await expect(registerTenant(db.pool, { name, source: f.file })).rejects.toMatchObject({ code: 'LCS_TENANT_NAME' });
        await expect(syncTenant({ pool: db.pool, tenant: name })).rejects.toMatchObject({ code: 'LCS_TENANT_NAME' });
      }
      const after = await db.pool.query(`select count(*)::int as n from pg_namespace`);
      expect(after.rows[0].n).toBe(before.rows[0].n);
      const registry = await db.pool.query(`select count(*)::int as n from sync_metadata.client_deployments`);
      expect(registry.rows[0].n).toBe(0);
      // The registry itself refuses such a name even when written directly.
      await expect(
        db.pool.query(`insert into sync_metadata.client_deployments (client_name, source_type, source_location) values ('Bad"Name', 'openwebui_sqlite', '/x')`),
      ).rejects.toThrow(/client_deployments_name_valid/);
    } finally {
      f.close(true);
    }
  });
});
