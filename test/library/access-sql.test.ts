import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { addMember, createOrganization, objectId } from './fixtures.js';

const db = await createTestDatabase();

async function call<T = unknown>(sql: string, params: unknown[] = []): Promise<T> {
  const { rows } = await db.pool.query(sql, params);
  return rows[0]?.result as T;
}

describe('SQL functions of organization access and templates (20261121000600)', () => {
  it('marks rows created without a LibreChat id as templates, and a LibreChat-side tombstone does not apply to them', async () => {
    const org = await createOrganization(db.pool, 'Templates');
    const { rows } = await db.pool.query(
      `insert into public.agent_library (organization_id, name, provider, model, instructions) values ($1, 'Default helper', 'openAI', 'gpt-4o', 'Be kind')
       returning id, is_template`,
      [org],
    );
    expect(rows[0].is_template).toBe(true);
    const libraryId = rows[0].id as string;
    const mongoId = objectId();
    const linked = await call<{ linked: boolean }>(`select public.lcs_link_template('agent', $1, $2, $3) as result`, [libraryId, `agent_lcs_x`, mongoId]);
    expect(linked).toEqual({ linked: true, already_linked: false });
    // The LibreChat → Supabase sync removing it (e.g. reconcile, or a LibreChat admin deleting the copy) is ignored.
    const removed = await call<{ removed: number }>(`select public.lcs_remove_agents($1::jsonb) as result`, [JSON.stringify([{ librechat_id: 'agent_lcs_x' }])]);
    expect(removed.removed).toBe(1);
    const after = await db.pool.query('select deleted_at, is_active, is_template from public.agent_library where id = $1', [libraryId]);
    expect(after.rows[0]).toEqual({ deleted_at: null, is_active: true, is_template: true });
    // An admin deactivates it in Supabase: that applies.
    await db.pool.query('update public.agent_library set is_active = false where id = $1', [libraryId]);
    expect((await db.pool.query('select is_active from public.agent_library where id = $1', [libraryId])).rows[0].is_active).toBe(false);
  });

  it('links a template once and refuses to overwrite a different link; linking again to the same ids is a no-op', async () => {
    const org = await createOrganization(db.pool, 'Link');
    const { rows } = await db.pool.query(`insert into public.prompt_library (organization_id, name, prompt_text) values ($1, 'Weekly report', 'Summarize {{week}}') returning id`, [org]);
    const id = rows[0].id as string;
    const group = objectId();
    expect(await call(`select public.lcs_link_template('prompt', $1, $2, $2, $3) as result`, [id, group, objectId()])).toEqual({ linked: true, already_linked: false });
    expect(await call(`select public.lcs_link_template('prompt', $1, $2, $2) as result`, [id, group])).toEqual({ linked: false, already_linked: true });
    const other = objectId();
    await expect(db.pool.query(`select public.lcs_link_template('prompt', $1, $2, $2)`, [id, other])).rejects.toThrow(/already linked .* refusing to overwrite/);
    const synced = await db.pool.query(
      `insert into public.prompt_library (organization_id, librechat_group_id, name) values ($1, $2, 'From LibreChat') returning id, is_template`,
      [org, objectId()],
    );
    expect(synced.rows[0].is_template).toBe(false);
    await expect(db.pool.query(`select public.lcs_link_template('prompt', $1, $2, $2)`, [synced.rows[0].id, objectId()])).rejects.toThrow(/not a template/);
  });

  it('sets an organization group only when the stored value is still the expected one', async () => {
    const org = await createOrganization(db.pool, 'Group');
    const first = objectId();
    const second = objectId();
    expect(await call(`select public.lcs_set_organization_group($1, $2) as result`, [org, first])).toEqual({ id: org, librechat_group_id: first, changed: true });
    // Another writer expected null: the existing mapping stays.
    expect(await call(`select public.lcs_set_organization_group($1, $2) as result`, [org, second])).toEqual({ id: org, librechat_group_id: first, changed: false });
    expect(await call(`select public.lcs_set_organization_group($1, $2, $3) as result`, [org, second, first])).toEqual({ id: org, librechat_group_id: second, changed: true });
    await expect(db.pool.query(`select public.lcs_set_organization_group($1, 'not-an-id')`, [org])).rejects.toThrow(/24 hex/);
    expect(await call(`select public.lcs_set_organization_group('00000000-0000-4000-8000-000000000000', $1) as result`, [first])).toBeNull();
  });

  it('fingerprints move when members or items change, and access lists only live LibreChat items', async () => {
    const org = await createOrganization(db.pool, 'Prints');
    const before = (await call<Record<string, string>>('select public.lcs_access_fingerprints() as result'))[org];
    const memberId = await addMember(db.pool, org, { librechatUserId: objectId(), email: 'Ann@Example.com' });
    const withMember = (await call<Record<string, string>>('select public.lcs_access_fingerprints() as result'))[org];
    expect(withMember).not.toBe(before);
    await db.pool.query('delete from public.organization_members where id = $1', [memberId]);
    const removedMember = (await call<Record<string, string>>('select public.lcs_access_fingerprints() as result'))[org];
    expect(removedMember).not.toBe(withMember);

    await addMember(db.pool, org, { email: 'bo@example.com' });
    const live = objectId();
    await db.pool.query(
      `insert into public.agent_library (organization_id, librechat_agent_id, librechat_mongo_id, name, instructions) values
       ($1, 'agent_live', $2, 'Live', 'secret'), ($1, 'agent_off', $3, 'Off', 'secret'), ($1, null, null, 'Unlinked template', 'secret')`,
      [org, live, objectId()],
    );
    await db.pool.query(`update public.agent_library set is_active = false where librechat_agent_id = 'agent_off'`);
    const [access] = await call<Array<Record<string, unknown>>>('select public.lcs_organization_access($1::jsonb) as result', [JSON.stringify([org])]);
    expect(access).toMatchObject({ id: org, members: [{ librechat_user_id: null, email: 'bo@example.com' }] });
    expect(access!.agents).toEqual([expect.objectContaining({ librechat_agent_id: 'agent_live', librechat_mongo_id: live, is_template: false })]);

    const list = await call<Array<Record<string, unknown>>>(`select public.lcs_organization_library_list($1, 'agent') as result`, [org]);
    expect(list.map((item) => item.librechat_agent_id)).toEqual(['agent_live']);
    expect(JSON.stringify(list)).not.toContain('secret');
  });

  it('is callable by service_role only', async () => {
    for (const role of ['anon', 'authenticated'] as const) {
      await expect(db.asRole(role, { role }, (client) => client.query('select public.lcs_access_fingerprints()'))).rejects.toThrow(/permission denied/);
      await expect(
        db.asRole(role, { role }, (client) => client.query(`select public.lcs_organization_library_list('00000000-0000-4000-8000-000000000000', 'agent')`)),
      ).rejects.toThrow(/permission denied/);
    }
    const rows = await db.asRole('service_role', { role: 'service_role' }, (client) => client.query('select public.lcs_library_templates() as result'));
    expect(rows.rows[0].result).toHaveProperty('agents');
  });
});
