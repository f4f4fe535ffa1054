import { describeNetworkError, fail, ok, skip, type CheckResult } from './check.js';

const ID = 'supabase-rest';
const TITLE = 'Supabase REST key';

export type SupabaseKeyKind = 'secret' | 'publishable' | 'service_role' | 'anon' | 'other-role' | 'not-a-key';

export interface SupabaseKeyInfo {
  kind: SupabaseKeyKind;
  /** The `role` claim of a legacy JWT key. */
  role?: string;
  /** The `ref` claim (project reference) of a legacy JWT key. */
  ref?: string;
  /** `exp` of a legacy JWT key, in seconds. */
  expiresAt?: number;
}

/**
 * Tells the key types apart: new-style keys by prefix (`sb_secret_…`, `sb_publishable_…`), legacy keys by the `role`
 * claim of the JWT payload. The signature is not verified — this is our own configuration, not a caller's token,
 * and the REST call that follows is what proves the key is accepted.
 */
export function classifySupabaseKey(key: string): SupabaseKeyInfo {
  if (key.startsWith('sb_secret_')) return { kind: 'secret' };
  if (key.startsWith('sb_publishable_')) return { kind: 'publishable' };
  const parts = key.split('.');
  if (parts.length !== 3) return { kind: 'not-a-key' };
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const role = typeof payload.role === 'string' ? payload.role : undefined;
    const ref = typeof payload.ref === 'string' ? payload.ref : undefined;
    const expiresAt = typeof payload.exp === 'number' ? payload.exp : undefined;
    const kind: SupabaseKeyKind = role === 'service_role' ? 'service_role' : role === 'anon' ? 'anon' : 'other-role';
    return { kind, role, ref, expiresAt };
  } catch {
    return { kind: 'not-a-key' };
  }
}

const WHERE_TO_FIND = 'Supabase → Project Settings → API Keys: the secret key (sb_secret_…) or the legacy service_role key';

/** A table of ours the probe reads; the gateway checks the key before PostgREST looks for the table. */
const PROBE_TABLE = 'organizations';

export async function checkSupabaseKey(url: string | undefined, key: string | undefined, timeoutMs: number): Promise<CheckResult> {
  if (!url && !key) return skip(ID, TITLE, 'SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY not set (the REST/RPC transport is not used)');
  if (!url) return fail(ID, TITLE, 'SUPABASE_SERVICE_ROLE_KEY is set but SUPABASE_URL is not', 'set SUPABASE_URL to the Project URL, e.g. https://abcd.supabase.co');
  if (!key) return fail(ID, TITLE, 'SUPABASE_URL is set but SUPABASE_SERVICE_ROLE_KEY is not', `set SUPABASE_SERVICE_ROLE_KEY (${WHERE_TO_FIND})`);

  const info = classifySupabaseKey(key);
  switch (info.kind) {
    case 'anon':
      return fail(ID, TITLE, 'SUPABASE_SERVICE_ROLE_KEY holds the anon key (JWT role "anon"), which no write function accepts', `use the service key instead (${WHERE_TO_FIND})`);
    case 'publishable':
      return fail(ID, TITLE, 'SUPABASE_SERVICE_ROLE_KEY holds a publishable key (sb_publishable_…), the public key for browsers', `use the secret key instead (${WHERE_TO_FIND})`);
    case 'other-role':
      return fail(ID, TITLE, `SUPABASE_SERVICE_ROLE_KEY is a JWT with role "${info.role ?? '(none)'}", not "service_role"`, `use the service key (${WHERE_TO_FIND})`);
    case 'not-a-key':
      return fail(ID, TITLE, 'SUPABASE_SERVICE_ROLE_KEY is neither an sb_secret_… key nor a Supabase JWT key', `copy it again (${WHERE_TO_FIND}); check for cut-off or extra characters`);
    default:
      break;
  }
  if (info.expiresAt !== undefined && info.expiresAt * 1000 < Date.now()) {
    return fail(ID, TITLE, `the service_role key expired on ${new Date(info.expiresAt * 1000).toISOString().slice(0, 10)}`, `copy the current key (${WHERE_TO_FIND})`);
  }
  const urlRef = projectRef(url);
  if (info.ref && urlRef && info.ref !== urlRef) {
    return fail(ID, TITLE, `the service_role key belongs to project "${info.ref}" but SUPABASE_URL is project "${urlRef}"`, 'take the URL and the key from the same project');
  }

  const kindText = info.kind === 'secret' ? 'secret key (sb_secret_…)' : 'service_role key';
  // New-style keys go in `apikey` only; the Authorization header is for JWTs (the gateway rejects a key there).
  const headers: Record<string, string> = info.kind === 'secret' ? { apikey: key } : { apikey: key, authorization: `Bearer ${key}` };
  const probe = `${url.replace(/\/+$/, '')}/rest/v1/${PROBE_TABLE}?limit=0`;
  let response: Response;
  try {
    response = await fetch(probe, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  } catch (error) {
    return fail(ID, TITLE, `${restBase(url)} not reachable: ${describeNetworkError(error)}`, 'check SUPABASE_URL (the Project URL, e.g. https://abcd.supabase.co) and the network');
  }
  const body = await response.text().catch(() => '');
  const message = restMessage(body);
  if (response.status === 401 || response.status === 403) {
    return fail(ID, TITLE, `${restBase(url)} rejected the ${kindText} (${response.status}${message ? ` ${message}` : ''})`, `copy the key again from this project (${WHERE_TO_FIND}); it may have been rotated or revoked`);
  }
  if (!(response.headers.get('content-type') ?? '').includes('json')) {
    return fail(
      ID,
      TITLE,
      `${restBase(url)} answered ${response.status} ${response.headers.get('content-type') ?? 'without a content type'}: this is not Supabase's REST API`,
      'set SUPABASE_URL to the Project URL from Supabase → Project Settings → API (e.g. https://abcd.supabase.co, without /rest/v1)',
    );
  }
  if (response.ok) return ok(ID, TITLE, `${restBase(url)} accepts the ${kindText}`);
  if (response.status === 404) {
    return ok(ID, TITLE, `${restBase(url)} accepts the ${kindText} (public.${PROBE_TABLE} is not visible to the REST API yet: apply the migrations, then \`notify pgrst, 'reload schema'\`)`);
  }
  if (response.status < 500) {
    return ok(ID, TITLE, `${restBase(url)} accepts the ${kindText} (the probe of public.${PROBE_TABLE} answered ${response.status}${message ? ` ${message}` : ''})`);
  }
  return fail(ID, TITLE, `${restBase(url)} answered ${response.status}${message ? ` ${message}` : ''}`, 'check that SUPABASE_URL is the Project URL (without /rest/v1) and that the project is not paused');
}

function restBase(url: string): string {
  try {
    return `${new URL(url).host}/rest/v1`;
  } catch {
    return 'the REST API';
  }
}

/** `abcd` of https://abcd.supabase.co (hosted projects only; self-hosted URLs carry no ref). */
function projectRef(url: string): string | undefined {
  try {
    return /^([a-z0-9]+)\.supabase\.(?:co|in)$/.exec(new URL(url).hostname)?.[1];
  } catch {
    return undefined;
  }
}

function restMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message.slice(0, 120) : '';
  } catch {
    return '';
  }
}
