import { createHash } from 'node:crypto';
import type { DashboardData } from './data.js';
import { html, trusted, type SafeHtml } from './html.js';
import { SECTION_IDS, renderSections, type SectionId } from './sections.js';

/** The two pages (sign-in and dashboard) around the sections, with the inline CSS and the refresh script. */

const SECTION_TITLES: Record<SectionId, string> = {
  tenants: 'Tenants',
  jobs: 'Recent jobs',
  conflicts: 'Unresolved conflicts',
  users: 'Legacy users',
  library: 'Library sync health',
  nodes: 'Cluster nodes',
};

export interface RenderedSection {
  hash: string;
  html: string;
}

/** Sections with a short content hash, so the page script only swaps the ones that changed. */
export function sectionFragments(data: DashboardData, csrfToken: string): Record<SectionId, RenderedSection> {
  const fragments = renderSections(data, csrfToken);
  return Object.fromEntries(
    SECTION_IDS.map((id) => [id, { hash: createHash('sha256').update(fragments[id]).digest('base64url').slice(0, 16), html: fragments[id] }]),
  ) as Record<SectionId, RenderedSection>;
}

export function dashboardPage(data: DashboardData, options: { csrfToken: string; nonce: string; refreshMs: number }): string {
  const sections = sectionFragments(data, options.csrfToken);
  return document(
    'Dashboard',
    options.nonce,
    html`<meta name="lcs-csrf" content="${options.csrfToken}">`,
    html`<header>
      <div>
        <h1>librechat-supabase</h1>
        <p class="muted">Cluster <strong>${data.cluster_name}</strong> · served by node <strong>${data.node_id}</strong></p>
      </div>
      <div class="session">
        <span id="updated" class="muted small" data-generated-at="${data.generated_at}">Updated ${data.generated_at.slice(11, 19)} UTC</span>
        <span class="muted small">· refreshes every ${Math.round(options.refreshMs / 1000)} s</span>
        <form method="post" action="/logout"><button type="submit" class="link">Sign out</button></form>
      </div>
    </header>
    <p id="flash" class="flash" role="status" aria-live="polite"></p>
    <main data-refresh-ms="${options.refreshMs}">
      ${SECTION_IDS.map(
        (id) => html`<section aria-labelledby="title-${id}">
          <h2 id="title-${id}">${SECTION_TITLES[id]}</h2>
          <div id="section-${id}" data-hash="${sections[id].hash}">${trusted(sections[id].html)}</div>
        </section>`,
      )}
    </main>
    <script nonce="${options.nonce}">${trusted(PAGE_SCRIPT)}</script>`,
  );
}

export function signInPage(options: { nonce: string; error?: string }): string {
  return document(
    'Sign in',
    options.nonce,
    html``,
    html`<main class="sign-in">
      <h1>librechat-supabase</h1>
      <p>Sign in with this node's API token (<code>LCS_API_TOKEN</code>).</p>
      ${options.error ? html`<p class="flash bad" role="alert">${options.error}</p>` : ''}
      <form method="post" action="/login">
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
        <button type="submit">Sign in</button>
      </form>
      <p class="muted small">No token set on the node? Generate one with <code>npx librechat-supabase secrets</code>, set <code>LCS_API_TOKEN</code> and restart it.</p>
    </main>`,
  );
}

export function messagePage(options: { nonce: string; title: string; message: string }): string {
  return document(options.title, options.nonce, html``, html`<main class="sign-in"><h1>${options.title}</h1><p>${options.message}</p><p><a href="/">Back to the dashboard</a></p></main>`);
}

/** The Content-Security-Policy for a page: nothing but its own nonce'd style and script, and requests to itself. */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "form-action 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function document(title: string, nonce: string, head: SafeHtml, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · librechat-supabase</title>
${head}
<style nonce="${nonce}">${trusted(CSS)}</style>
</head>
<body>
${body}
</body>
</html>
`.value;
}

const CSS = `
:root { color-scheme: light; --fg: #1d232b; --muted: #5f6b7a; --line: #dde2e8; --bg: #f6f7f9; --card: #fff; --accent: #2458c6; }
* { box-sizing: border-box; }
body { margin: 0; padding: 1.25rem; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; justify-content: space-between; align-items: flex-end; gap: 1rem; flex-wrap: wrap; max-width: 1280px; margin: 0 auto 0.5rem; }
h1 { font-size: 1.35rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 0 0 0.6rem; }
header p { margin: 0.15rem 0 0; }
main { max-width: 1280px; margin: 0 auto; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 0.9rem 1rem; margin: 0 0 1rem; overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 0.4rem 0.55rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 0.78rem; text-transform: uppercase; letter-spacing: 0.03em; color: var(--muted); font-weight: 600; }
tbody tr:last-child td { border-bottom: 0; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.muted { color: var(--muted); }
.small { font-size: 0.8rem; }
.empty, .unavailable { color: var(--muted); margin: 0.2rem 0; }
.unavailable { font-style: italic; }
.error-text { color: #a3261b; max-width: 32rem; overflow-wrap: anywhere; }
.bad-text { color: #a3261b; }
code { font: 0.85em ui-monospace, "DejaVu Sans Mono", monospace; background: #eef1f5; padding: 0.05rem 0.3rem; border-radius: 4px; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0.05rem 0.5rem; border-radius: 999px; font-size: 0.78rem; font-weight: 600; border: 1px solid transparent; white-space: nowrap; }
.badge.ok { background: #e3f5e9; color: #17663a; border-color: #b9e2c8; }
.badge.warn { background: #fff4db; color: #7a5300; border-color: #f0d89c; }
.badge.bad { background: #fde7e5; color: #a3261b; border-color: #f4bfba; }
.badge.idle { background: #eceff3; color: #4a5563; border-color: #d6dbe2; }
.badge.info { background: #e5edfc; color: #1f4aa8; border-color: #c3d3f5; }
.actions { white-space: nowrap; }
.actions form { display: inline; margin: 0 0.3rem 0 0; }
button { font: inherit; padding: 0.25rem 0.7rem; border: 1px solid #b9c2cf; border-radius: 6px; background: #fff; color: var(--fg); cursor: pointer; }
button:hover { border-color: var(--accent); color: var(--accent); }
button:disabled { opacity: 0.6; cursor: progress; }
button.link { border: 0; background: none; color: var(--accent); padding: 0 0.2rem; }
.session { display: flex; gap: 0.4rem; align-items: center; }
.session form { display: inline; }
.flash { max-width: 1280px; margin: 0 auto 0.75rem; min-height: 1.2rem; color: #17663a; }
.flash:empty { margin-bottom: 0.25rem; }
.flash.bad { color: #a3261b; }
.reconcile { margin: 0.7rem 0 0.2rem; }
.sign-in { max-width: 26rem; margin: 12vh auto; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1.5rem; }
.sign-in label { display: block; font-weight: 600; margin: 0.8rem 0 0.3rem; }
.sign-in input { width: 100%; font: inherit; padding: 0.45rem 0.6rem; border: 1px solid #b9c2cf; border-radius: 6px; margin-bottom: 0.8rem; }
`;

// Fetches fresh sections every few seconds and swaps only the changed ones; tenant buttons post with the CSRF token.
const PAGE_SCRIPT = `
(() => {
  const csrf = document.querySelector('meta[name="lcs-csrf"]').content;
  const refreshMs = Number(document.querySelector('main').dataset.refreshMs) || 5000;
  const flash = document.getElementById('flash');
  const updated = document.getElementById('updated');
  let requested = 0, applied = 0, actionsInFlight = 0;
  const say = (text, bad) => { flash.textContent = text; flash.className = bad ? 'flash bad' : 'flash'; };
  async function refresh() {
    const mine = ++requested;
    try {
      const response = await fetch('/dashboard/data', { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
      if (response.status === 401) { say('Signed out: reload the page to sign in again.', true); return; }
      if (!response.ok) throw new Error('HTTP ' + response.status);
      const body = await response.json();
      // An older answer arriving late, or an action still running, must not overwrite newer state.
      if (mine < applied || actionsInFlight > 0) return;
      applied = mine;
      for (const [id, section] of Object.entries(body.sections)) {
        const element = document.getElementById('section-' + id);
        if (!element || element.dataset.hash === section.hash) continue;
        element.innerHTML = section.html;
        element.dataset.hash = section.hash;
      }
      updated.dataset.generatedAt = body.data.generated_at;
      updated.textContent = 'Updated ' + body.data.generated_at.slice(11, 19) + ' UTC';
    } catch (error) {
      updated.textContent = 'Refresh failed (' + error.message + '), retrying';
    }
  }
  document.addEventListener('submit', async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.action) return;
    event.preventDefault();
    const button = form.querySelector('button');
    if (button) button.disabled = true;
    actionsInFlight++;
    try {
      const response = await fetch(form.action, { method: 'POST', headers: { accept: 'application/json', 'x-csrf-token': csrf }, credentials: 'same-origin' });
      const body = await response.json().catch(() => ({}));
      say(body.message || body.error || 'HTTP ' + response.status, !response.ok);
    } catch (error) {
      say('Request failed: ' + error.message, true);
    } finally {
      actionsInFlight--;
    }
    document.getElementById('section-tenants').dataset.hash = '';
    await refresh();
  });
  setInterval(refresh, refreshMs);
})();
`;
