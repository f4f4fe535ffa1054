import http from 'node:http';
import type pg from 'pg';

/**
 * The two Supabase Auth (GoTrue) admin endpoints the admin-API source calls, answering from the emulated auth.users
 * table with GoTrue's shapes: GET /auth/v1/admin/users?page&per_page → {users, aud} (+ x-total-count),
 * GET /auth/v1/admin/users/:id → the user, 404 when absent. Requires the service key as bearer token.
 */
export async function startGoTrueAdminDouble(pool: pg.Pool, serviceKey: string) {
  const requests: string[] = [];
  const server = http.createServer(async (req, res) => {
    requests.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.headers.authorization !== `Bearer ${serviceKey}` || req.headers.apikey !== serviceKey) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 401, msg: 'invalid JWT' }));
      return;
    }
    const toUser = (row: Record<string, any>) => ({
      id: row.id,
      aud: 'authenticated',
      role: 'authenticated',
      email: row.email ?? '',
      created_at: row.created_at.toISOString(),
      app_metadata: row.raw_app_meta_data ?? {},
      user_metadata: row.raw_user_meta_data ?? {},
      is_anonymous: row.is_anonymous,
    });
    const one = /^\/auth\/v1\/admin\/users\/([0-9a-f-]{36})$/.exec(url.pathname);
    if (one) {
      const { rows } = await pool.query('select * from auth.users where id = $1', [one[1]]);
      if (!rows[0]) res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 404, msg: 'User not found' }));
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(toUser(rows[0])));
      return;
    }
    if (url.pathname === '/auth/v1/admin/users') {
      const page = Number(url.searchParams.get('page') || 1);
      const perPage = Number(url.searchParams.get('per_page') || 50);
      const { rows } = await pool.query('select * from auth.users where deleted_at is null order by created_at, id limit $1 offset $2', [perPage, (page - 1) * perPage]);
      const total = (await pool.query('select count(*)::int as n from auth.users where deleted_at is null')).rows[0].n;
      res.writeHead(200, { 'content-type': 'application/json', 'x-total-count': String(total) }).end(JSON.stringify({ users: rows.map(toUser), aud: 'authenticated' }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
