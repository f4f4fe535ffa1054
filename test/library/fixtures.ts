import { randomUUID } from 'node:crypto';
import type pg from 'pg';

/** Test data for the library schema: organizations, auth users and memberships, written as superuser. */
export async function createOrganization(pool: pg.Pool, name: string, extra: { tenantId?: string } = {}): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `insert into public.organizations (name, slug, librechat_tenant_id) values ($1, $2, $3) returning id`,
    [name, `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${randomUUID().slice(0, 8)}`, extra.tenantId ?? null],
  );
  return rows[0]!.id;
}

export async function createAuthUser(pool: pg.Pool, email: string): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(`insert into auth.users (email, role, aud) values ($1, 'authenticated', 'authenticated') returning id`, [email]);
  return rows[0]!.id;
}

export async function addMember(
  pool: pg.Pool,
  organizationId: string,
  member: { userId?: string | null; librechatUserId?: string | null; email?: string | null; role?: 'member' | 'admin' | 'owner' },
): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `insert into public.organization_members (organization_id, user_id, librechat_user_id, email, role)
     values ($1, $2, $3, $4, $5) returning id`,
    [organizationId, member.userId ?? null, member.librechatUserId ?? null, member.email ?? null, member.role ?? 'member'],
  );
  return rows[0]!.id;
}

/** A Mongo ObjectId-shaped hex string (what LibreChat uses for `_id` and user ids). */
export function objectId(): string {
  return randomUUID().replace(/-/g, '').slice(0, 24);
}

export function agentId(): string {
  return `agent_${randomUUID().replace(/-/g, '').slice(0, 21)}`;
}

export function at(offsetSeconds: number, base = Date.parse('2026-11-01T12:00:00.000Z')): string {
  return new Date(base + offsetSeconds * 1000).toISOString();
}
