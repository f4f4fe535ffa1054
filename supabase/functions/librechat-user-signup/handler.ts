/**
 * Supabase Database Webhook (INSERT on auth.users) → the librechat-supabase sync service, which provisions the new
 * user in LibreChat. The webhook proves itself with a shared secret header (checked in constant time); the sync
 * service is called with its API token. If the service is down the user is not lost: the auth.users trigger has
 * queued it, and the service's next poll provisions it.
 */

export interface SignupWebhookEnv {
  /** LCS_WEBHOOK_SECRET: the value the Database Webhook sends in the `x-lcs-webhook-secret` header. */
  webhookSecret?: string;
  /** LCS_SYNC_SERVICE_URL: base URL of a sync node, e.g. https://sync.example.com:9443 */
  syncServiceUrl?: string;
  /** LCS_API_TOKEN: bearer token of the sync service API. */
  apiToken?: string;
}

export const SECRET_HEADER = 'x-lcs-webhook-secret';

interface WebhookPayload {
  type?: string;
  schema?: string;
  table?: string;
  record?: { id?: unknown; email?: unknown } | null;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });
}

/** Constant-time equality of two strings of any length: compares HMACs under a one-off random key. */
export async function secretsMatch(presented: string, expected: string): Promise<boolean> {
  const key = await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.sign('HMAC', key, encoder.encode(presented)),
    crypto.subtle.sign('HMAC', key, encoder.encode(expected)),
  ]);
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  let difference = 0;
  for (let i = 0; i < x.length; i += 1) difference |= x[i]! ^ y[i]!;
  return difference === 0;
}

export async function handleSignupWebhook(request: Request, env: SignupWebhookEnv, fetcher: typeof fetch = fetch): Promise<Response> {
  if (request.method !== 'POST') return json(405, { error: 'use POST (a Supabase Database Webhook on auth.users INSERT)' });
  const missing = (['webhookSecret', 'syncServiceUrl', 'apiToken'] as const).filter((name) => !env[name]);
  if (missing.length > 0) {
    const names = { webhookSecret: 'LCS_WEBHOOK_SECRET', syncServiceUrl: 'LCS_SYNC_SERVICE_URL', apiToken: 'LCS_API_TOKEN' };
    return json(500, { error: `not configured: set ${missing.map((m) => names[m]).join(', ')} with \`supabase secrets set\`` });
  }
  if (!(await secretsMatch(request.headers.get(SECRET_HEADER) ?? '', env.webhookSecret!))) {
    return json(401, { error: `missing or wrong ${SECRET_HEADER} header` });
  }

  let payload: WebhookPayload;
  try {
    payload = (await request.json()) as WebhookPayload;
  } catch {
    return json(400, { error: 'body is not JSON' });
  }
  if (payload.type !== 'INSERT' || payload.schema !== 'auth' || payload.table !== 'users') {
    return json(200, { ignored: true, reason: 'only INSERT on auth.users is handled' });
  }
  const userId = payload.record?.id;
  if (typeof userId !== 'string' || userId.length === 0) return json(400, { error: 'record.id is missing' });

  try {
    const response = await fetcher(`${env.syncServiceUrl!.replace(/\/+$/, '')}/api/v1/users/provision`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${env.apiToken}` },
      body: JSON.stringify({ user_id: userId }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = await response.json().catch(() => ({}));
    if (response.status >= 500) {
      return json(502, { error: `sync service answered ${response.status}; the user is provisioned by its next poll`, user_id: userId });
    }
    return json(response.ok ? 202 : response.status, body);
  } catch {
    return json(502, { error: 'sync service unreachable; the user is provisioned by its next poll', user_id: userId });
  }
}
