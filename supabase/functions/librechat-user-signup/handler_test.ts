// Deno tests of the webhook handler: `npx deno test --allow-net --allow-env supabase/functions/librechat-user-signup/`
import { handleSignupWebhook, SECRET_HEADER, secretsMatch } from './handler.ts';

function assertEquals(actual: unknown, expected: unknown, message = ''): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message} expected ${e}, got ${a}`);
}

const env = { webhookSecret: 'webhook-secret-0123456789abcdef', syncServiceUrl: 'http://sync.invalid', apiToken: 'api-token-0123456789abcdef' };
const insert = { type: 'INSERT', schema: 'auth', table: 'users', record: { id: '6f1c1a52-2f5b-4a4e-9a55-1d0c1b0f3e11', email: 'a@example.com' }, old_record: null };

function webhook(body: unknown, secret: string | null = env.webhookSecret, method = 'POST'): Request {
  const headers = new Headers({ 'content-type': 'application/json' });
  if (secret !== null) headers.set(SECRET_HEADER, secret);
  return new Request('http://edge.local/librechat-user-signup', { method, headers, body: method === 'POST' ? JSON.stringify(body) : undefined });
}

/** A fetch that records what the handler forwards and answers like the sync service would. */
function recordingFetch(status: number, answer: unknown) {
  const calls: Array<{ url: string; authorization: string | null; body: unknown }> = [];
  const fetcher = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(input), authorization: new Headers(init?.headers).get('authorization'), body: JSON.parse(String(init?.body)) });
    return new Response(JSON.stringify(answer), { status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { calls, fetcher };
}

Deno.test('secretsMatch compares any lengths without leaking by early exit', async () => {
  assertEquals(await secretsMatch('abc', 'abc'), true);
  assertEquals(await secretsMatch('abc', 'abd'), false);
  assertEquals(await secretsMatch('', 'abc'), false);
  assertEquals(await secretsMatch('abcabc', 'abc'), false);
});

Deno.test('forwards an auth.users INSERT to the sync service with its API token', async () => {
  const { calls, fetcher } = recordingFetch(202, { status: 'queued', workflow_id: `legacy-sync-${insert.record.id}` });
  const response = await handleSignupWebhook(webhook(insert), env, fetcher);
  assertEquals(response.status, 202);
  assertEquals(await response.json(), { status: 'queued', workflow_id: `legacy-sync-${insert.record.id}` });
  assertEquals(calls, [{ url: 'http://sync.invalid/api/v1/users/provision', authorization: `Bearer ${env.apiToken}`, body: { user_id: insert.record.id } }]);
});

Deno.test('rejects a missing or wrong secret and forwards nothing', async () => {
  const { calls, fetcher } = recordingFetch(202, {});
  assertEquals((await handleSignupWebhook(webhook(insert, null), env, fetcher)).status, 401);
  assertEquals((await handleSignupWebhook(webhook(insert, 'wrong-secret'), env, fetcher)).status, 401);
  assertEquals(calls.length, 0);
});

Deno.test('names the missing secrets when not configured', async () => {
  const response = await handleSignupWebhook(webhook(insert), { webhookSecret: env.webhookSecret });
  assertEquals(response.status, 500);
  const body = (await response.json()) as { error: string };
  assertEquals(body.error.includes('LCS_SYNC_SERVICE_URL') && body.error.includes('LCS_API_TOKEN'), true);
});

Deno.test('ignores other events, refuses bad bodies and GET', async () => {
  const { calls, fetcher } = recordingFetch(202, {});
  assertEquals((await handleSignupWebhook(webhook({ ...insert, type: 'UPDATE' }), env, fetcher)).status, 200);
  assertEquals((await handleSignupWebhook(webhook({ ...insert, record: {} }), env, fetcher)).status, 400);
  assertEquals((await handleSignupWebhook(webhook(null, env.webhookSecret, 'GET'), env, fetcher)).status, 405);
  assertEquals(calls.length, 0);
});

Deno.test('a sync service that is down answers 502 and says the poll will catch up', async () => {
  const response = await handleSignupWebhook(webhook(insert), { ...env, syncServiceUrl: 'http://127.0.0.1:9' });
  assertEquals(response.status, 502);
  assertEquals(((await response.json()) as { error: string }).error.includes('next poll'), true);
});

// End to end with a real sync service (started by test/users/edge-function.test.ts, which passes these variables).
const e2eUrl = Deno.env.get('LCS_E2E_SERVICE_URL');
Deno.test({
  name: 'end to end: Deno.serve(handler) → the real sync service provisions the user',
  ignore: !e2eUrl,
  async fn() {
    const secret = 'e2e-webhook-secret-0123456789';
    const server = Deno.serve({ port: 0, hostname: '127.0.0.1', onListen() {} }, (request) =>
      handleSignupWebhook(request, { webhookSecret: secret, syncServiceUrl: e2eUrl, apiToken: Deno.env.get('LCS_E2E_API_TOKEN') }),
    );
    try {
      const userId = Deno.env.get('LCS_E2E_USER_ID')!;
      const response = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SECRET_HEADER]: secret },
        body: JSON.stringify({ type: 'INSERT', schema: 'auth', table: 'users', record: { id: userId }, old_record: null }),
      });
      assertEquals(response.status, 202);
      assertEquals(await response.json(), { status: 'queued', user_id: userId, workflow_id: `legacy-sync-${userId}` });
    } finally {
      await server.shutdown();
    }
  },
});
