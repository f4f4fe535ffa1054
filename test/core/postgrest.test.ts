import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import ws from 'ws';
import { createTestDatabase } from '../support/database.js';
import { startPostgrest, type RunningPostgrest } from '../support/postgrest.js';

// supabase-js over real HTTP against the PostgREST double on the real test Postgres: roles, grants, RLS and
// error shapes are Postgres's own, only the transport is emulated.
const db = await createTestDatabase();
const alice = '11111111-1111-4111-8111-111111111111';
const bob = '22222222-2222-4222-8222-222222222222';

let rest: RunningPostgrest;

/** A supabase-js client as our code will create one. Node 20 has no global WebSocket: realtime needs `ws`. */
function client(key: string, accessToken?: string, schema?: string): SupabaseClient<any, any, any> {
  return createClient(rest.url, key, {
    auth: { persistSession: false, autoRefreshToken: false },
    // ws's typings differ in detail from realtime-js's WebSocketLike; at runtime it is the documented transport.
    realtime: { transport: ws as never },
    global: accessToken ? { headers: { Authorization: `Bearer ${accessToken}` } } : {},
    ...(schema ? { db: { schema } } : {}),
  });
}

beforeAll(async () => {
  await db.pool.query(`
    create table public.notes (
      id serial primary key,
      owner uuid not null default auth.uid(),
      body text not null,
      created_at timestamptz not null default now()
    );
    alter table public.notes enable row level security;
    create policy notes_read_own on public.notes for select to authenticated using (owner = (select auth.uid()));
    create policy notes_write_own on public.notes for insert to authenticated with check (owner = (select auth.uid()));

    -- security invoker: runs as the caller, so RLS decides.
    create function public.add_note(body text) returns public.notes language sql security invoker as $$
      insert into public.notes (body) values (add_note.body) returning *
    $$;
    create function public.my_notes() returns setof public.notes language sql stable as $$
      select * from public.notes order by id
    $$;
    create function public.add_them(a integer, b integer default 10) returns integer language sql immutable as $$ select a + b $$;
    create function public.tags_of(tags text[], meta jsonb) returns table (tag text, source text) language sql immutable as $$
      select t, meta ->> 'source' from unnest(tags) t
    $$;
    create function public.whoami() returns json language sql stable as $$
      select json_build_object('uid', auth.uid(), 'db_role', current_user, 'claim_role', auth.role(),
                               'org', auth.jwt() -> 'app_metadata' ->> 'org')
    $$;
    create function public.numbers(n integer) returns setof integer language sql immutable as $$ select generate_series(1, n) $$;
    create function public.do_nothing() returns void language sql as $$ $$;
    create function public.echo_payload(jsonb) returns jsonb language sql immutable as $$ select $1 $$;
    create function public.fail_loudly(reason text) returns void language plpgsql as $$
    begin
      raise exception 'refused: %', reason using hint = 'try something else';
    end $$;

    -- service-only: a privileged function nobody but service_role may execute.
    create function public.purge_notes() returns integer language sql security definer set search_path = '' as $$
      with gone as (delete from public.notes returning 1) select count(*)::int from gone
    $$;
    revoke execute on function public.purge_notes() from public, anon, authenticated;
    grant execute on function public.purge_notes() to service_role;

    create schema api;
    grant usage on schema api to anon, authenticated, service_role;
    create function api.ping() returns text language sql as $$ select 'pong from api' $$;
    create schema hidden;
    create function hidden.secret_ping() returns text language sql as $$ select 'hidden' $$;
  `);
  rest = await startPostgrest({ databaseUrl: db.url, schemas: ['public', 'api'] });
});

afterAll(async () => {
  await rest?.stop();
});

describe('PostgREST test double under supabase-js', () => {
  it('creates a supabase-js client on Node 20 with the ws transport', () => {
    expect(() => client(rest.anonKey)).not.toThrow();
  });

  it('service_role calls a service-only function; anon gets 401 and authenticated 403', async () => {
    await db.pool.query(`insert into public.notes (owner, body) values ($1, 'to purge')`, [alice]);

    const anon = await client(rest.anonKey).rpc('purge_notes');
    expect(anon.status).toBe(401);
    expect(anon.error).toMatchObject({ code: '42501', message: expect.stringMatching(/permission denied for function purge_notes/) });

    const user = await client(rest.anonKey, rest.signUserToken(alice)).rpc('purge_notes');
    expect(user.status).toBe(403);
    expect(user.error?.code).toBe('42501');

    const service = await client(rest.serviceRoleKey).rpc('purge_notes');
    expect(service.error).toBeNull();
    expect(service.status).toBe(200);
    expect(service.data).toBe(1);
    const { rows } = await db.pool.query('select count(*)::int as n from public.notes');
    expect(rows[0].n).toBe(0);
  });

  it('an authenticated user writes and reads through RLS; anon is denied by the policy', async () => {
    const aliceClient = client(rest.anonKey, rest.signUserToken(alice));
    const bobClient = client(rest.anonKey, rest.signUserToken(bob));

    const added = await aliceClient.rpc('add_note', { body: 'alice via rpc' });
    expect(added.error).toBeNull();
    expect(added.data).toMatchObject({ owner: alice, body: 'alice via rpc' });
    expect(Object.keys(added.data as object)).toEqual(['id', 'owner', 'body', 'created_at']);
    expect((await bobClient.rpc('add_note', { body: 'bob via rpc' })).error).toBeNull();

    const aliceNotes = await aliceClient.rpc('my_notes');
    expect(aliceNotes.error).toBeNull();
    expect((aliceNotes.data as Array<{ body: string }>).map((n) => n.body)).toEqual(['alice via rpc']);

    const anonAdd = await client(rest.anonKey).rpc('add_note', { body: 'anonymous' });
    expect(anonAdd.status).toBe(401);
    expect(anonAdd.error?.code).toBe('42501');
    expect(anonAdd.error?.message).toMatch(/row-level security/);

    const all = await client(rest.serviceRoleKey).rpc('my_notes');
    expect((all.data as unknown[]).length).toBe(2);
    const { rows } = await db.pool.query(`select body from public.notes where body = 'anonymous'`);
    expect(rows).toEqual([]);
  });

  it('sets request.jwt.claims and the database role from the token', async () => {
    const token = rest.signUserToken(alice, { app_metadata: { org: 'acme' } });
    const me = await client(rest.anonKey, token).rpc('whoami');
    expect(me.data).toEqual({ uid: alice, db_role: 'authenticated', claim_role: 'authenticated', org: 'acme' });
    const anon = await client(rest.anonKey).rpc('whoami');
    expect(anon.data).toEqual({ uid: null, db_role: 'anon', claim_role: 'anon', org: null });
    const service = await client(rest.serviceRoleKey).rpc('whoami');
    expect(service.data).toMatchObject({ db_role: 'service_role' });
  });

  it('converts named JSON arguments like PostgREST: defaults, arrays, jsonb, table results, void, single json', async () => {
    const anon = client(rest.anonKey);
    expect((await anon.rpc('add_them', { a: 1, b: 2 })).data).toBe(3);
    expect((await anon.rpc('add_them', { a: 1 })).data).toBe(11);
    expect((await anon.rpc('add_them', { a: 5 }, { get: true })).data).toBe(15);
    const tags = await anon.rpc('tags_of', { tags: ['x', 'y'], meta: { source: 'test' } });
    expect(tags.data).toEqual([
      { tag: 'x', source: 'test' },
      { tag: 'y', source: 'test' },
    ]);
    const nothing = await anon.rpc('do_nothing');
    expect(nothing).toMatchObject({ status: 204, data: null, error: null });
    const echoed = await anon.rpc('echo_payload', { anything: [1, { deep: true }] });
    expect(echoed.data).toEqual({ anything: [1, { deep: true }] });
  });

  it('answers PostgREST-shaped errors: missing function, raise exception, read-only GET', async () => {
    const anon = client(rest.anonKey);
    const missing = await anon.rpc('no_such_function', { x: 1 });
    expect(missing.status).toBe(404);
    expect(missing.error).toMatchObject({ code: 'PGRST202', message: 'Could not find the function public.no_such_function(x) in the schema cache' });

    const wrongArgs = await anon.rpc('add_them', { a: 1, c: 2 });
    expect(wrongArgs.status).toBe(404);
    expect(wrongArgs.error?.code).toBe('PGRST202');

    const raised = await anon.rpc('fail_loudly', { reason: 'because' });
    expect(raised.status).toBe(400);
    expect(raised.error).toEqual({ code: 'P0001', message: 'refused: because', details: null, hint: 'try something else' });

    const readOnly = await client(rest.anonKey, rest.signUserToken(alice)).rpc('add_note', { body: 'via get' }, { get: true });
    expect(readOnly.status).toBe(405);
    expect(readOnly.error?.code).toBe('25006');
  });

  it('selects the schema from Content-Profile and refuses schemas that are not exposed', async () => {
    const api = await client(rest.anonKey).schema('api').rpc('ping');
    expect(api.data).toBe('pong from api');
    const hidden = await client(rest.anonKey).schema('hidden').rpc('secret_ping');
    expect(hidden.status).toBe(406);
    expect(hidden.error).toMatchObject({ code: 'PGRST106', hint: 'Only the following schemas are exposed: public, api' });
  });

  it('reads tables with filters as the caller role (RLS applied)', async () => {
    await db.pool.query(`delete from public.notes`);
    await db.pool.query(`insert into public.notes (owner, body) values ($1, 'a1'), ($1, 'a2'), ($2, 'b1')`, [alice, bob]);
    const service = client(rest.serviceRoleKey);
    const everything = await service.from('notes').select('body').order('body', { ascending: false });
    expect(everything.data).toEqual([{ body: 'b1' }, { body: 'a2' }, { body: 'a1' }]);
    const filtered = await service.from('notes').select('*').eq('owner', bob);
    expect((filtered.data as Array<{ body: string }>).map((n) => n.body)).toEqual(['b1']);
    const inList = await service.from('notes').select('body').in('body', ['a1', 'b1']).order('body');
    expect(inList.data).toEqual([{ body: 'a1' }, { body: 'b1' }]);
    const limited = await service.from('notes').select('body').order('body').range(1, 1);
    expect(limited.data).toEqual([{ body: 'a2' }]);

    const aliceView = await client(rest.anonKey, rest.signUserToken(alice)).from('notes').select('body').order('body');
    expect(aliceView.data).toEqual([{ body: 'a1' }, { body: 'a2' }]);
    const anonView = await client(rest.anonKey).from('notes').select('body');
    expect(anonView.data).toEqual([]);
  });

  it('caps set results at max-rows as Supabase does (1000 by default), so callers must paginate', async () => {
    await db.pool.query(`insert into public.notes (owner, body) select $1, 'bulk ' || i from generate_series(1, 5) i`, [alice]);
    const capped = await startPostgrest({ databaseUrl: db.url, maxRows: 3 });
    try {
      const small = createClient(capped.url, capped.serviceRoleKey, { auth: { persistSession: false }, realtime: { transport: ws as never } });
      expect((await small.rpc('numbers', { n: 10 })).data).toEqual([1, 2, 3]);
      expect((await small.from('notes').select('id')).data).toHaveLength(3);
    } finally {
      await capped.stop();
    }
    expect(((await client(rest.anonKey).rpc('numbers', { n: 1500 })).data as number[]).length).toBe(1000);
  });

  it('says so instead of silently ignoring what it does not implement', async () => {
    const write = await client(rest.serviceRoleKey).from('notes').insert({ body: 'x', owner: alice });
    expect(write.status).toBe(400);
    expect(write.error?.code).toBe('HARNESS_UNSUPPORTED');
  });
});

describe('PostgREST test double: gateway and JWT checks', () => {
  const call = (headers: Record<string, string>) =>
    fetch(`${rest.url}/rest/v1/rpc/add_them`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"a":1,"b":1}' });

  it('requires an apikey that is one of the project keys', async () => {
    const none = await call({});
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ message: 'No API key found in request' });
    const forged = await call({ apikey: 'not-a-project-key' });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ message: 'Invalid API key' });
  });

  it('uses the apikey as the token when Authorization is absent, and rejects bad or expired tokens', async () => {
    const plain = await call({ apikey: rest.anonKey });
    expect(plain.status).toBe(200);
    expect(await plain.json()).toBe(2);

    const wrongSecret = await call({ apikey: rest.anonKey, authorization: `Bearer ${rest.signUserToken(alice).slice(0, -2)}xx` });
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toMatchObject({ code: 'PGRST301' });

    const expired = await call({ apikey: rest.anonKey, authorization: `Bearer ${rest.signUserToken(alice, { exp: Math.floor(Date.now() / 1000) - 60 })}` });
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({ code: 'PGRST303', message: 'JWT expired' });
  });

  it('refuses a token whose role the login role may not switch to', async () => {
    const superuser = await call({ apikey: rest.anonKey, authorization: `Bearer ${rest.signUserToken(alice, { role: 'postgres' })}` });
    expect(superuser.status).toBeGreaterThanOrEqual(400);
    const body = (await superuser.json()) as { message: string };
    expect(body.message).toMatch(/permission denied to set role "postgres"/);
  });
});
