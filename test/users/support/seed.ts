import type pg from 'pg';

/** Inserts `count` confirmed email users into the emulated auth.users; returns their ids in insertion order. */
export async function insertAuthUsers(
  pool: pg.Pool,
  count: number,
  options: { prefix?: string; organization?: string | null; provider?: string; appMetadata?: Record<string, unknown> } = {},
): Promise<string[]> {
  const prefix = options.prefix ?? 'user';
  const appMetadata = { provider: options.provider ?? 'email', ...(options.organization ? { organization_id: options.organization } : {}), ...options.appMetadata };
  const { rows } = await pool.query<{ id: string }>(
    `insert into auth.users (email, raw_app_meta_data, raw_user_meta_data, email_confirmed_at, created_at)
     select $1 || '-' || i || '@example.com', $2::jsonb, jsonb_build_object('full_name', 'User ' || $1 || ' ' || i), now(),
            now() - (($3 - i) || ' minutes')::interval
       from generate_series(1, $3) as i
     returning id::text`,
    [prefix, JSON.stringify(appMetadata), count],
  );
  return rows.map((row) => row.id);
}
