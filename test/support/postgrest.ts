import http from 'node:http';
import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type pg from 'pg';
import { createPool, quoteIdent } from '../../src/core/database.js';

/**
 * A PostgREST double for tests: Supabase's REST transport (`/rest/v1`) on top of the real test Postgres, so code
 * that calls `supabase.rpc()` is tested end-to-end over HTTP against real SQL functions, roles and RLS.
 *
 * What it reproduces (PostgREST 12 as Supabase runs it, behind Supabase's API gateway):
 * - `apikey` header required and checked against the project's keys (the gateway's job); `Authorization: Bearer
 *   <JWT>` verified with HS256 and the JWT secret; no Authorization → the apikey is the token.
 * - Each request is one transaction: session authorization `authenticator`, then `role` from the JWT's `role` claim
 *   (`anon` when absent) and `request.jwt.claims`, `request.method`, `request.path`, `request.headers` as settings.
 *   GET runs read-only, as PostgREST does.
 * - `POST|GET /rest/v1/rpc/<fn>`: named arguments (JSON body or query string) resolved against pg_proc in the
 *   schema from `Content-Profile`/`Accept-Profile` (default: first exposed schema), overloads by argument names,
 *   defaults, a single unnamed json/jsonb parameter; arguments are converted with json_to_record like PostgREST.
 *   Scalar → the value, composite → object, setof/table → array (capped at maxRows), void → 204.
 * - `GET /rest/v1/<table>?select=a,b&col=eq.x&order=col.desc&limit=&offset=` with eq/neq/gt/gte/lt/lte/like/
 *   ilike/is/in filters.
 * - Errors as PostgREST's JSON `{code, message, details, hint}` and its status mapping (42501 → 401 anon /
 *   403 otherwise, P0001 → 400, 23505 → 409, PGRST202 → 404, …).
 *
 * Deliberate differences: there is no schema cache (a function created mid-test is visible at once, so a missing
 * `notify pgrst, 'reload schema'` is not caught), and anything this double does not implement (embedding, writes
 * on tables, filters on RPC results, counts) answers 400 with code `HARNESS_UNSUPPORTED` instead of being ignored.
 */
export interface PostgrestOptions {
  /** A superuser connection string to the database to serve (the test database's `db.url`). */
  databaseUrl: string;
  /** The project's JWT secret; a random one when absent. */
  jwtSecret?: string;
  /** Exposed schemas (Supabase `[api] schemas`); the first is the default. Default: public, graphql_public. */
  schemas?: string[];
  /** PostgREST `max-rows` (Supabase default 1000). */
  maxRows?: number;
}

export interface RunningPostgrest {
  /** The project URL to give `createClient(url, key)` (the REST API lives under `${url}/rest/v1`). */
  url: string;
  jwtSecret: string;
  /** JWT with `role: 'anon'`, as Supabase's anon key. */
  anonKey: string;
  /** JWT with `role: 'service_role'`, as Supabase's service_role key. */
  serviceRoleKey: string;
  /** A signed-in user's access token: `sub`, `role: 'authenticated'`, `aud`, `exp` in one hour, plus extra claims. */
  signUserToken(sub: string, extraClaims?: Record<string, unknown>): string;
  stop(): Promise<void>;
}

interface PostgrestError {
  status: number;
  code: string;
  message: string;
  details?: string | null;
  hint?: string | null;
  headers?: Record<string, string>;
}

class RestError extends Error {
  constructor(readonly reply: PostgrestError) {
    super(reply.message);
  }
}

const ANON_ROLE = 'anon';
const LOGIN_ROLE = 'authenticator';

export async function startPostgrest(options: PostgrestOptions): Promise<RunningPostgrest> {
  const jwtSecret = options.jwtSecret ?? randomBytes(32).toString('hex');
  const schemas = options.schemas ?? ['public', 'graphql_public'];
  const maxRows = options.maxRows ?? 1000;
  const pool = createPool(options.databaseUrl, { max: 8, applicationName: 'postgrest test double' });
  const issuedAt = Math.floor(Date.now() / 1000);
  const projectKey = (role: string) =>
    jwt.sign({ iss: 'supabase-test', ref: 'test', role, iat: issuedAt, exp: issuedAt + 10 * 365 * 24 * 3600 }, jwtSecret, { algorithm: 'HS256' });
  const anonKey = projectKey('anon');
  const serviceRoleKey = projectKey('service_role');
  const context: HandlerContext = { pool, jwtSecret, schemas, maxRows, apiKeys: new Set([anonKey, serviceRoleKey]) };

  const server = http.createServer((req, res) => {
    handle(context, req)
      .then((reply) => respond(res, reply))
      .catch((error: unknown) => {
        const reply = error instanceof RestError ? error.reply : { status: 500, code: 'HARNESS_ERROR', message: String((error as Error)?.message ?? error) };
        respond(res, errorReply(reply));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    url: `http://127.0.0.1:${port}`,
    jwtSecret,
    anonKey,
    serviceRoleKey,
    signUserToken(sub, extraClaims = {}) {
      const now = Math.floor(Date.now() / 1000);
      return jwt.sign(
        { sub, role: 'authenticated', aud: 'authenticated', iat: now, exp: now + 3600, ...extraClaims },
        jwtSecret,
        { algorithm: 'HS256' },
      );
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}

interface HandlerContext {
  superuser?: Promise<boolean>;
  pool: pg.Pool;
  jwtSecret: string;
  schemas: string[];
  maxRows: number;
  apiKeys: Set<string>;
}

interface Reply {
  status: number;
  /** Raw JSON text, or undefined for no body. */
  body?: string;
  headers?: Record<string, string>;
}

interface RequestInfo {
  method: 'GET' | 'POST';
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  schema: string;
  role: string;
  claims: Record<string, unknown>;
}

async function handle(context: HandlerContext, req: http.IncomingMessage): Promise<Reply> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  const match = /^\/rest\/v1\/(?:rpc\/([^/]+)|([^/]+))\/?$/.exec(url.pathname);
  if (!match) throw new RestError({ status: 404, code: 'HARNESS_NOT_FOUND', message: `No route ${method} ${url.pathname}` });
  if (method !== 'GET' && method !== 'POST') {
    throw unsupported(`${method} is not implemented by the PostgREST test double`);
  }
  const { role, claims } = authenticate(context, req.headers);
  const profileHeader = method === 'GET' ? req.headers['accept-profile'] : req.headers['content-profile'];
  const schema = typeof profileHeader === 'string' && profileHeader !== '' ? profileHeader : context.schemas[0]!;
  if (!context.schemas.includes(schema)) {
    throw new RestError({
      status: 406,
      code: 'PGRST106',
      message: `Invalid schema: ${schema}`,
      hint: `Only the following schemas are exposed: ${context.schemas.join(', ')}`,
    });
  }
  const info: RequestInfo = { method, path: url.pathname, query: url.searchParams, headers: req.headers, schema, role, claims };
  const body = method === 'POST' ? await readJson(req) : undefined;

  if (match[1]) return callFunction(context, info, decodeURIComponent(match[1]), body);
  if (method === 'POST') throw unsupported('writes to tables are not implemented by the PostgREST test double; use an RPC');
  return readTable(context, info, decodeURIComponent(match[2]!));
}

/** The API gateway's apikey check, then PostgREST's JWT check; returns the database role and the claims. */
function authenticate(context: HandlerContext, headers: http.IncomingHttpHeaders): { role: string; claims: Record<string, unknown> } {
  const apikey = typeof headers.apikey === 'string' ? headers.apikey : '';
  if (!apikey) {
    throw new RestError({ status: 401, code: 'NO_API_KEY', message: 'No API key found in request', hint: 'No `apikey` request header or url param was found.' });
  }
  if (!context.apiKeys.has(apikey)) {
    throw new RestError({ status: 401, code: 'INVALID_API_KEY', message: 'Invalid API key', hint: 'Double check your Supabase `anon` or `service_role` API key.' });
  }
  const authorization = headers.authorization ?? `Bearer ${apikey}`;
  const token = /^Bearer\s+(.+)$/i.exec(authorization)?.[1];
  if (!token) return { role: ANON_ROLE, claims: { role: ANON_ROLE } };
  let claims: Record<string, unknown>;
  try {
    claims = jwt.verify(token, context.jwtSecret, { algorithms: ['HS256'] }) as Record<string, unknown>;
  } catch (error) {
    const expired = (error as Error).name === 'TokenExpiredError';
    throw new RestError({
      status: 401,
      code: expired ? 'PGRST303' : 'PGRST301',
      message: expired ? 'JWT expired' : `JWT could not be verified: ${(error as Error).message}`,
      headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${expired ? 'JWT expired' : 'JWT invalid'}"` },
    });
  }
  const role = typeof claims.role === 'string' && claims.role !== '' ? claims.role : ANON_ROLE;
  return { role, claims };
}

interface FunctionArgument {
  name: string;
  type: string;
  variadic: boolean;
}

interface FunctionCandidate {
  args: FunctionArgument[];
  requiredCount: number;
  returnsSet: boolean;
  returnsVoid: boolean;
}

// Input arguments (modes in/inout/variadic) of every function with this name in the schema, from pg_proc.
const FUNCTION_LOOKUP = `
  select p.proretset as "returnsSet",
         p.prorettype = 'void'::regtype as "returnsVoid",
         p.pronargs - p.pronargdefaults as "requiredCount",
         coalesce((
           select json_agg(json_build_object('name', coalesce(a.name, ''), 'type', format_type(a.type, null), 'variadic', a.mode = 'v') order by a.ord)
             from unnest(
                    coalesce(p.proallargtypes, p.proargtypes::oid[]),
                    coalesce(p.proargmodes, array_fill('i'::"char", array[p.pronargs])),
                    coalesce(p.proargnames, array_fill(''::text, array[p.pronargs]))
                  ) with ordinality as a(type, mode, name, ord)
            where a.mode in ('i', 'b', 'v')
         ), '[]') as args
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = $1 and p.proname = $2 and p.prokind = 'f'`;

const RESERVED_RPC_PARAMS = new Set(['select', 'order', 'limit', 'offset', 'columns', 'on_conflict']);

async function callFunction(context: HandlerContext, info: RequestInfo, name: string, body: unknown): Promise<Reply> {
  let args: Record<string, unknown>;
  if (info.method === 'POST') {
    for (const key of info.query.keys()) {
      if (key !== 'columns') throw unsupported(`query parameter "${key}" on an RPC (filters/transforms on function results)`);
    }
    args = body === undefined ? {} : (body as Record<string, unknown>);
  } else {
    args = {};
    for (const [key, value] of info.query) {
      if (RESERVED_RPC_PARAMS.has(key)) throw unsupported(`query parameter "${key}" on an RPC (filters/transforms on function results)`);
      args[key] = value;
    }
  }
  const bodyIsObject = args !== null && typeof args === 'object' && !Array.isArray(args);

  const { rows } = await context.pool.query<FunctionCandidate>(FUNCTION_LOOKUP, [info.schema, name]);
  const given = bodyIsObject ? Object.keys(args) : [];
  const byNames = rows.filter((candidate) => {
    const names = candidate.args.map((a) => a.name);
    return (
      bodyIsObject &&
      candidate.args.every((a) => a.name !== '') &&
      given.every((key) => names.includes(key)) &&
      names.slice(0, candidate.requiredCount).every((required) => given.includes(required))
    );
  });
  const singleJson = rows.filter((c) => c.args.length === 1 && c.args[0]!.name === '' && /^jsonb?$/.test(c.args[0]!.type));
  const matches = byNames.length > 0 ? byNames : singleJson;
  if (matches.length === 0) {
    const signature = `${info.schema}.${name}(${given.join(', ')})`;
    throw new RestError({
      status: 404,
      code: 'PGRST202',
      message: `Could not find the function ${signature} in the schema cache`,
      details: `Searched for the function ${info.schema}.${name} with parameters ${given.join(', ') || '(none)'} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`,
      hint: null,
    });
  }
  if (matches.length > 1) {
    throw new RestError({
      status: 300,
      code: 'PGRST203',
      message: `Could not choose the best candidate function between several overloads of ${info.schema}.${name}`,
      hint: 'Try renaming the parameters or the function itself in the database so function overloading can be resolved',
    });
  }
  const fn = matches[0]!;
  const qualified = `${quoteIdent(info.schema)}.${quoteIdent(name)}`;

  let from: string;
  let call: string;
  if (fn === singleJson[0] && byNames.length === 0) {
    from = '';
    call = `${qualified}($1::${fn.args[0]!.type})`;
  } else {
    const used = fn.args.filter((a) => given.includes(a.name));
    from = used.length > 0 ? `json_to_record($1::json) as pgrst_args(${used.map((a) => `${quoteIdent(a.name)} ${a.type}`).join(', ')})` : '';
    call = `${qualified}(${used.map((a) => `${a.variadic ? 'variadic ' : ''}${quoteIdent(a.name)} => pgrst_args.${quoteIdent(a.name)}`).join(', ')})`;
  }
  const params = from || call.includes('$1') ? [JSON.stringify(args)] : [];

  let sql: string;
  if (fn.returnsVoid) sql = `select ${call}${from ? ` from ${from}` : ''}`;
  else if (fn.returnsSet) {
    sql =
      `select coalesce(json_agg(to_json(pgrst_call)), '[]')::text as body ` +
      `from (select pgrst_call from ${from ? `${from}, ` : ''}${call} pgrst_call limit ${context.maxRows}) pgrst_call`;
  } else sql = `select to_json(pgrst_call)::text as body from ${from ? `${from}, ` : ''}${call} pgrst_call`;

  const result = await runAsRole(context, info, (client) => client.query<{ body: string | null }>(sql, params));
  if (fn.returnsVoid) return { status: 204 };
  return { status: 200, body: result.rows[0]?.body ?? 'null' };
}

const FILTER_OPERATORS: Record<string, string> = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=', like: 'like', ilike: 'ilike' };
const columnName = /^[A-Za-z_][A-Za-z0-9_]*$/;

async function readTable(context: HandlerContext, info: RequestInfo, table: string): Promise<Reply> {
  const params: unknown[] = [];
  const where: string[] = [];
  let columns = '*';
  let order = '';
  let limit = context.maxRows;
  let offset = 0;
  const column = (name: string) => {
    if (!columnName.test(name)) throw unsupported(`column expression "${name}"`);
    return quoteIdent(name);
  };

  for (const [key, value] of info.query) {
    if (key === 'select') {
      columns = value === '*' ? '*' : value.split(',').map((name) => column(name.trim())).join(', ');
    } else if (key === 'order') {
      order = value
        .split(',')
        .map((part) => {
          const [name, direction = 'asc', nulls] = part.split('.');
          if (!['asc', 'desc'].includes(direction) || (nulls && !['nullsfirst', 'nullslast'].includes(nulls))) throw unsupported(`order "${part}"`);
          return `${column(name!)} ${direction}${nulls ? ` ${nulls === 'nullsfirst' ? 'nulls first' : 'nulls last'}` : ''}`;
        })
        .join(', ');
    } else if (key === 'limit' || key === 'offset') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new RestError({ status: 400, code: 'PGRST100', message: `"${value}" is not a valid ${key}` });
      if (key === 'limit') limit = Math.min(n, context.maxRows);
      else offset = n;
    } else {
      const filter = /^(not\.)?([a-z]+)\.(.*)$/s.exec(value);
      if (!filter) throw new RestError({ status: 400, code: 'PGRST100', message: `"failed to parse filter (${value})"` });
      const [, negate, operator, operand] = filter as unknown as [string, string | undefined, string, string];
      let condition: string;
      if (operator in FILTER_OPERATORS) {
        params.push(operand);
        condition = `${column(key)} ${FILTER_OPERATORS[operator]} $${params.length}`;
      } else if (operator === 'is' && ['null', 'true', 'false'].includes(operand)) {
        condition = `${column(key)} is ${operand}`;
      } else if (operator === 'in' && /^\(.*\)$/s.test(operand)) {
        params.push(operand.slice(1, -1).split(',').map((item) => item.trim().replace(/^"(.*)"$/s, '$1')));
        condition = `${column(key)}::text = any($${params.length}::text[])`;
      } else {
        throw unsupported(`filter operator "${operator}"`);
      }
      where.push(negate ? `not (${condition})` : condition);
    }
  }

  const sql =
    `select coalesce(json_agg(to_json(t)), '[]')::text as body, count(*)::int as n from (` +
    `select ${columns} from ${quoteIdent(info.schema)}.${quoteIdent(table)}` +
    `${where.length ? ` where ${where.join(' and ')}` : ''}${order ? ` order by ${order}` : ''} limit ${limit} offset ${offset}) t`;
  const result = await runAsRole(context, info, (client) => client.query<{ body: string; n: number }>(sql, params));
  const n = result.rows[0]?.n ?? 0;
  return {
    status: 200,
    body: result.rows[0]?.body ?? '[]',
    headers: { 'content-range': n === 0 ? '*/*' : `${offset}-${offset + n - 1}/*` },
  };
}

/** One transaction per request, as PostgREST: login role, JWT role and request settings, then the statement. */
async function runAsRole<T>(context: HandlerContext, info: RequestInfo, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await context.pool.connect();
  try {
    await client.query(info.method === 'GET' ? 'begin read only' : 'begin');
    // As PostgREST: log in as `authenticator`, which may only switch to the roles granted to it. Only a superuser
    // can take that identity; on another server (DATABASE_URL) the connecting user switches roles itself.
    context.superuser ??= client.query<{ rolsuper: boolean }>('select rolsuper from pg_roles where rolname = current_user').then((r) => r.rows[0]?.rolsuper === true);
    if (await context.superuser) await client.query(`set local session authorization ${LOGIN_ROLE}`);
    await client.query(
      `select set_config('role', $1, true), set_config('request.jwt.claims', $2, true), set_config('request.method', $3, true),
              set_config('request.path', $4, true), set_config('request.headers', $5, true)`,
      [info.role, JSON.stringify(info.claims), info.method, info.path, JSON.stringify(publicHeaders(info.headers))],
    );
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw fromDatabaseError(error, info.role);
  } finally {
    client.release();
  }
}

function publicHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) if (typeof value === 'string') out[key.toLowerCase()] = value;
  return out;
}

/** PostgREST's mapping from SQLSTATE to HTTP status. */
function statusForSqlState(code: string, role: string): number {
  if (code === '42501') return role === ANON_ROLE ? 401 : 403;
  if (/^PT\d{3}$/.test(code)) return Number(code.slice(2));
  const exact: Record<string, number> = {
    '23503': 409, '23505': 409, '25006': 405, '42883': 404, '42P01': 404, '42P17': 500, P0001: 400,
  };
  if (code in exact) return exact[code]!;
  const byClass: Record<string, number> = {
    '08': 503, '09': 500, '0L': 403, '0P': 403, '25': 500, '28': 403, '2D': 500, '38': 500, '39': 500, '3B': 500,
    '40': 500, '53': 503, '54': 500, '55': 500, '57': 500, '58': 500, F0: 500, HV: 500, P0: 500, XX: 500,
  };
  return byClass[code.slice(0, 2)] ?? 400;
}

function fromDatabaseError(error: unknown, role: string): unknown {
  if (error instanceof RestError) return error;
  const pgError = error as { code?: unknown; message?: string; detail?: string; hint?: string };
  if (typeof pgError.code !== 'string') return error;
  const status = statusForSqlState(pgError.code, role);
  return new RestError({
    status,
    code: pgError.code,
    message: pgError.message ?? 'database error',
    details: pgError.detail ?? null,
    hint: pgError.hint ?? null,
    headers: status === 401 ? { 'www-authenticate': 'Bearer' } : undefined,
  });
}

function unsupported(what: string): RestError {
  return new RestError({ status: 400, code: 'HARNESS_UNSUPPORTED', message: `Not implemented by the PostgREST test double: ${what}` });
}

function errorReply(error: PostgrestError): Reply {
  const body = { code: error.code, details: error.details ?? null, hint: error.hint ?? null, message: error.message };
  return { status: error.status, body: JSON.stringify(body), headers: error.headers };
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new RestError({ status: 400, code: 'PGRST102', message: 'Empty or invalid json' });
  }
}

function respond(res: http.ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
  res.writeHead(reply.status, headers);
  res.end(reply.body);
}
