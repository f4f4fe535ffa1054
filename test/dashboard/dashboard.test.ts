import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { escapeHtml, html } from '../../src/dashboard/html.js';
import type { SyncService } from '../../src/service/server.js';
import { HOSTILE, TOKEN, seedDashboardData, startDashboardNode } from './support/seed.js';

/** The dashboard over HTTP: sign-in, the data it shows from real tables, CSRF on its buttons, escaping, degradation. */

const db = await createTestDatabase();
// A second database whose tenant-sync and user-link schemas are dropped, as if those migrations were never applied.
const bare = await createTestDatabase();
let service: SyncService;
let url: string;

beforeAll(async () => {
  await seedDashboardData(db.pool);
  ({ service, url } = await startDashboardNode(db.pool));
});
afterAll(async () => {
  await service?.close();
});

async function signIn(): Promise<string> {
  const response = await fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: TOKEN }).toString(),
    redirect: 'manual',
  });
  expect(response.status).toBe(303);
  const setCookie = response.headers.get('set-cookie') ?? '';
  return setCookie.split(';')[0]!;
}

async function dashboardHtml(cookie: string): Promise<string> {
  const response = await fetch(`${url}/`, { headers: { cookie } });
  expect(response.status).toBe(200);
  return response.text();
}

function csrfFrom(page: string): string {
  const token = /<meta name="lcs-csrf" content="([^"]+)">/.exec(page)?.[1];
  expect(token).toBeTruthy();
  return token!;
}

async function tenantStatus(name: string): Promise<{ status: string; sync_enabled: boolean }> {
  const { rows } = await db.pool.query<{ status: string; sync_enabled: boolean }>('select status, sync_enabled from sync_metadata.client_deployments where client_name = $1', [name]);
  return rows[0]!;
}

describe('html escaping', () => {
  it('escapes every interpolated value and keeps nested templates', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p title="${'"x" & \'y\''}">${inner}${['<a>', 1, null, undefined, false]}</p>`.value).toBe(
      '<p title="&quot;x&quot; &amp; &#39;y&#39;"><b>&lt;i&gt;</b>&lt;a&gt;1</p>',
    );
    expect(escapeHtml('`<>&')).toBe('&#96;&lt;&gt;&amp;');
  });
});

describe('sign-in', () => {
  it('shows only the sign-in form to a visitor without the token', async () => {
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await response.text();
    expect(page).toContain('<form method="post" action="/login">');
    expect(page).toContain('name="token" type="password"');
    expect(page).not.toContain('acme');
    expect(page).not.toContain('chat-42');
    expect(page).not.toContain('lcs-csrf');
  });

  it('refuses the data and the buttons without the token', async () => {
    expect((await fetch(`${url}/dashboard/data`)).status).toBe(401);
    const post = await fetch(`${url}/dashboard/tenants/acme/pause`, { method: 'POST', headers: { 'x-csrf-token': 'anything' } });
    expect(post.status).toBe(401);
    expect(await tenantStatus('acme')).toEqual({ status: 'active', sync_enabled: true });
  });

  it('rejects a wrong token without setting a cookie', async () => {
    const response = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: 'not-the-token' }).toString(),
      redirect: 'manual',
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('set-cookie')).toBeNull();
    const page = await response.text();
    expect(page).toContain('That is not the API token of this node.');
    expect(page).not.toContain('acme');
    // A cookie holding a wrong token is no sign-in either.
    const withWrongCookie = await (await fetch(`${url}/`, { headers: { cookie: 'lcs_token=not-the-token' } })).text();
    const malformed = await fetch(`${url}/`, { headers: { cookie: 'lcs_token=%E0%A4%A' } });
    expect(malformed.status).toBe(200);
    expect(await malformed.text()).toContain('action="/login"');
    expect(withWrongCookie).toContain('action="/login"');
    expect(withWrongCookie).not.toContain('acme');
  });

  it('sets an HttpOnly, SameSite=Strict cookie for the right token and redirects to the dashboard', async () => {
    const response = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN }).toString(),
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/');
    const setCookie = response.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^lcs_token=[^;]+; Path=\/; HttpOnly; SameSite=Strict/);
    expect(setCookie).not.toContain('Secure');
    const behindTls = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
      body: new URLSearchParams({ token: TOKEN }).toString(),
      redirect: 'manual',
    });
    expect(behindTls.headers.get('set-cookie')).toContain('Secure');
  });

  it('signs out by clearing the cookie', async () => {
    const response = await fetch(`${url}/logout`, { method: 'POST', redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(response.headers.get('set-cookie')).toMatch(/^lcs_token=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/);
  });
});

describe('the dashboard', () => {
  it('shows tenants, jobs with duration and throughput, conflicts, user states, library health and nodes from the database', async () => {
    const page = await dashboardHtml(await signIn());
    // Tenants: status, last/next sync, rows and errors.
    expect(page).toMatch(/<tr data-tenant="acme">[\s\S]*?<span class="badge ok">active<\/span><\/td>\s*<td><time [^>]*>2 min ago<\/time> <span class="badge ok">completed<\/span><\/td>\s*<td><time [^>]*>in [23] min<\/time><\/td>/);
    expect(page).toMatch(/<tr data-tenant="acme">[\s\S]*?<td class="num">1,200<\/td>/);
    expect(page).toMatch(/<tr data-tenant="globex">[\s\S]*?<span class="badge idle">paused<\/span>[\s\S]*?not scheduled/);
    expect(page).toMatch(/<tr data-tenant="acme">[\s\S]*?1 open conflict\(s\)/);
    // Jobs: 1200 rows in 60 s = 20 rows/s; 7 rows in 4 s = 1.8 rows/s.
    expect(page).toMatch(/<tr data-job="[^"]+">[\s\S]*?<td>acme<\/td>[\s\S]*?<td class="num">1 min<\/td>\s*<td class="num">1,200<\/td>\s*<td class="num">20\.0 rows\/s<\/td>/);
    expect(page).toContain('20.0 rows/s');
    expect(page).toContain('1.8 rows/s');
    expect(page).toContain('3 failed');
    // Conflicts: the unresolved one only.
    expect(page).toContain('{&quot;id&quot;:&quot;chat-42&quot;}');
    expect(page).not.toContain('u-1');
    // Legacy users: counts per state (u4 is excluded, so 3 users).
    expect(page).toMatch(/<tr data-source="auth.users">\s*<td>auth.users<\/td>\s*<td class="num">3<\/td>\s*<td class="num" data-state="fully_synced">2<\/td>/);
    expect(page).toMatch(/data-state="not_synced">1</);
    expect(page).toMatch(/data-state="failed">1</);
    expect(page).toMatch(/data-state="excluded">1</);
    // Library: one active of two agents, last synced 5 minutes ago, no reconcile recorded.
    expect(page).toMatch(/<td class="num">1 \/ 2<\/td>/);
    expect(page).toContain('5 min ago');
    expect(page).toContain('No reconcile recorded.');
    // Nodes: node-a leads; node-b's heartbeat is stale, so it is unresponsive and not leader.
    expect(page).toMatch(/<tr data-node="node-a">[\s\S]*?\(this node\)[\s\S]*?badge ok">healthy<\/span> <span class="badge info">leader/);
    expect(page).toMatch(/<tr data-node="node-b">[\s\S]*?badge bad">unresponsive<\/span><\/td>/);
  });

  it('escapes hostile text from the database everywhere it shows', async () => {
    const cookie = await signIn();
    const page = await dashboardHtml(cookie);
    expect(page).not.toContain('<script>document.title');
    expect(page).not.toContain('<img src=x');
    expect(page).toContain('&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;&quot;&#39;');
    expect(page).toContain('Acme &lt;script&gt;');
    // Our own script is the page's only one.
    expect(page.match(/<script/g)).toHaveLength(1);
    const data = (await (await fetch(`${url}/dashboard/data`, { headers: { cookie } })).json()) as { sections: Record<string, { html: string }> };
    const fragments = Object.values(data.sections).map((s) => s.html).join('');
    expect(fragments).not.toContain('<script');
    expect(fragments).toContain('&lt;script&gt;document.title');
  });

  it('serves the same sections as JSON for the auto-refresh, including rows added after the page loaded', async () => {
    const cookie = await signIn();
    await db.pool.query(
      `insert into sync_metadata.sync_jobs (client_name, started_at, status, sync_type, triggered_by, rows_synced, node_id)
       values ('acme', now() - interval '10 seconds', 'running', 'incremental', 'api', 50, 'node-a')`,
    );
    try {
      const response = await fetch(`${url}/dashboard/data`, { headers: { cookie } });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { data: { jobs: { available: boolean; data: Array<{ status: string; duration_seconds: number }> } }; sections: Record<string, { hash: string; html: string }> };
      expect(Object.keys(body.sections)).toEqual(['tenants', 'jobs', 'conflicts', 'users', 'library', 'nodes']);
      const running = body.data.jobs.data.find((job) => job.status === 'running');
      expect(running?.duration_seconds).toBeGreaterThanOrEqual(9);
      expect(body.sections.jobs!.html).toContain('badge info">running');
      expect(body.sections.jobs!.hash).toMatch(/^[A-Za-z0-9_-]{16}$/);
    } finally {
      await db.pool.query(`delete from sync_metadata.sync_jobs where status = 'running'`);
    }
  });
});

describe('tenant buttons', () => {
  it('refuses a post without the CSRF token, or with a wrong one', async () => {
    const cookie = await signIn();
    const missing = await fetch(`${url}/dashboard/tenants/acme/pause`, { method: 'POST', headers: { cookie, accept: 'application/json' } });
    expect(missing.status).toBe(403);
    expect(((await missing.json()) as { error: string }).error).toContain('CSRF');
    const wrong = await fetch(`${url}/dashboard/tenants/acme/pause`, { method: 'POST', headers: { cookie, accept: 'application/json', 'x-csrf-token': 'forged' } });
    expect(wrong.status).toBe(403);
    expect(await tenantStatus('acme')).toEqual({ status: 'active', sync_enabled: true });
  });

  it('pauses, starts and triggers a tenant with the cookie and the page CSRF token', async () => {
    const cookie = await signIn();
    const csrf = csrfFrom(await dashboardHtml(cookie));
    const post = (action: string, tenant = 'acme') =>
      fetch(`${url}/dashboard/tenants/${tenant}/${action}`, { method: 'POST', headers: { cookie, accept: 'application/json', 'x-csrf-token': csrf } });

    const paused = await post('pause');
    expect(paused.status).toBe(200);
    expect(((await paused.json()) as { message: string }).message).toContain('Paused acme');
    expect(await tenantStatus('acme')).toEqual({ status: 'paused', sync_enabled: false });
    expect(await dashboardHtml(cookie)).toMatch(/<tr data-tenant="acme">[\s\S]*?badge idle">paused[\s\S]*?data-action="start">Start</);

    expect((await post('start')).status).toBe(200);
    expect(await tenantStatus('acme')).toEqual({ status: 'active', sync_enabled: true });

    expect((await post('trigger')).status).toBe(200);
    const { rows } = await db.pool.query(`select triggered_by, full_sync, picked_at from sync_metadata.sync_requests where client_name = 'acme'`);
    expect(rows).toEqual([{ triggered_by: 'dashboard', full_sync: false, picked_at: null }]);
    expect(await dashboardHtml(cookie)).toMatch(/<tr data-tenant="acme">[\s\S]*?badge info">sync queued/);

    const unknown = await post('pause', 'nobody');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toContain('not registered');
    expect((await post('explode')).status).toBe(404);
    expect((await post('pause', 'Bad-Name')).status).toBe(400);
  });

  it('works as a plain form post without JavaScript (CSRF in the form body)', async () => {
    const cookie = await signIn();
    const csrf = csrfFrom(await dashboardHtml(cookie));
    const response = await fetch(`${url}/dashboard/tenants/globex/start`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf }).toString(),
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/');
    expect(await tenantStatus('globex')).toEqual({ status: 'active', sync_enabled: true });
    const forged = await fetch(`${url}/dashboard/tenants/globex/pause`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: 'forged' }).toString(),
      redirect: 'manual',
    });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('CSRF');
    expect(await tenantStatus('globex')).toEqual({ status: 'active', sync_enabled: true });
  });
});

describe('a database without some migrations', () => {
  let bareService: SyncService;
  let bareUrl: string;
  beforeAll(async () => {
    await bare.pool.query('drop schema sync_metadata cascade');
    await bare.pool.query('drop schema lcs_users cascade');
    ({ service: bareService, url: bareUrl } = await startDashboardNode(bare.pool));
  });
  afterAll(async () => {
    await bareService?.close();
  });

  it('shows "not available" for the missing sections and still shows the others', async () => {
    const login = await fetch(`${bareUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN }).toString(),
      redirect: 'manual',
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const response = await fetch(`${bareUrl}/`, { headers: { cookie } });
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).toContain('Not available: the tenant registry (sync_metadata.client_deployments) is not in this database yet; apply the migrations (npx librechat-supabase migrate).');
    expect(page).toContain('Not available: the node heartbeat table (sync_metadata.node_heartbeats) is not in this database yet');
    expect(page).toContain('Not available: the user link table (lcs_users.librechat_links) is not in this database yet');
    expect(page.match(/Not available:/g)).toHaveLength(5);
    expect(page).toContain('No organizations yet.');
    expect(page).toContain('No reconcile recorded.');
  });
});

describe('formatting', () => {
  it('reads durations, rates and relative times the way an operator says them', async () => {
    const { formatDuration, formatRate, relativeTime } = await import('../../src/dashboard/format.js');
    expect([formatDuration(null), formatDuration(2), formatDuration(42.4), formatDuration(60), formatDuration(125), formatDuration(7260)]).toEqual(['—', '2.0 s', '42 s', '1 min', '2 min 5 s', '2 h 1 min']);
    expect([formatRate(null), formatRate(1.75), formatRate(2121)]).toEqual(['—', '1.8 rows/s', '2,121 rows/s']);
    const now = new Date('2026-01-01T12:00:00Z');
    expect([relativeTime('2026-01-01T11:58:00Z', now), relativeTime('2026-01-01T12:00:30Z', now), relativeTime('2025-12-29T12:00:00Z', now)]).toEqual(['2 min ago', 'in 30 s', '3 d ago']);
  });
});
