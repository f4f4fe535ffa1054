import { STATE_LABELS } from '../users/status.js';
import type { DashboardConflict, DashboardData, DashboardJob, DashboardLibrary, DashboardNode, DashboardTenant, DashboardUserSource, Section } from './data.js';
import { formatDuration, formatNumber, formatRate, timeCell } from './format.js';
import { html, type SafeHtml } from './html.js';

/**
 * The dashboard's sections as HTML fragments. The page renders them once on load; the page script swaps in fresh
 * ones from /dashboard/data, so one renderer (and one place that escapes) serves both.
 */

export const SECTION_IDS = ['tenants', 'jobs', 'conflicts', 'users', 'library', 'nodes'] as const;
export type SectionId = (typeof SECTION_IDS)[number];

export function renderSections(data: DashboardData, csrfToken: string): Record<SectionId, string> {
  const now = new Date(data.generated_at);
  return {
    tenants: available(data.tenants, (tenants) => tenantsTable(tenants, now, csrfToken)).value,
    jobs: available(data.jobs, (jobs) => jobsTable(jobs, now)).value,
    conflicts: available(data.conflicts, (conflicts) => conflictsTable(conflicts, now)).value,
    users: available(data.users, (sources) => usersTable(sources)).value,
    library: available(data.library, (library) => libraryTable(library, now)).value,
    nodes: available(data.nodes, (nodes) => nodesTable(nodes, now)).value,
  };
}

function available<T>(section: Section<T>, render: (data: T) => SafeHtml): SafeHtml {
  if (!section.available) return html`<p class="unavailable">Not available: ${section.reason}</p>`;
  return render(section.data);
}

function badge(text: string, tone: 'ok' | 'warn' | 'bad' | 'idle' | 'info'): SafeHtml {
  return html`<span class="badge ${tone}">${text}</span>`;
}

const TENANT_TONES: Record<string, 'ok' | 'warn' | 'bad' | 'idle' | 'info'> = { active: 'ok', paused: 'idle', registered: 'info', error: 'bad' };
const JOB_TONES: Record<string, 'ok' | 'warn' | 'bad' | 'idle' | 'info'> = { completed: 'ok', running: 'info', partial: 'warn', failed: 'bad' };

// ── tenants ─────────────────────────────────────────────────────────────────────────────────────────────────────

function tenantsTable(tenants: DashboardTenant[], now: Date, csrfToken: string): SafeHtml {
  if (tenants.length === 0) {
    return html`<p class="empty">No tenants registered. Register one with <code>npx librechat-supabase tenants register NAME --source /path/to/webui.db</code>.</p>`;
  }
  return html`<table>
    <thead><tr><th>Tenant</th><th>Status</th><th>Last sync</th><th>Next sync</th><th class="num">Rows synced</th><th>Errors</th><th>Actions</th></tr></thead>
    <tbody>${tenants.map((tenant) => tenantRow(tenant, now, csrfToken))}</tbody>
  </table>`;
}

function tenantRow(tenant: DashboardTenant, now: Date, csrfToken: string): SafeHtml {
  const errors: SafeHtml[] = [];
  if (tenant.last_job?.error) errors.push(html`<div class="error-text">${tenant.last_job.error}</div>`);
  if (tenant.failed_rows > 0) errors.push(html`<div>${formatNumber(tenant.failed_rows)} failed row(s)</div>`);
  if (tenant.open_conflicts > 0) errors.push(html`<div>${formatNumber(tenant.open_conflicts)} open conflict(s)</div>`);
  const lastSync = tenant.last_sync_at
    ? html`${timeCell(tenant.last_sync_at, now)} ${tenant.last_sync_status ? badge(tenant.last_sync_status, JOB_TONES[tenant.last_sync_status] ?? 'info') : ''}`
    : html`<span class="muted">never</span>`;
  const nextSync = !tenant.sync_enabled
    ? html`<span class="muted">not scheduled</span>`
    : tenant.next_sync_at && new Date(tenant.next_sync_at) > now
      ? timeCell(tenant.next_sync_at, now)
      : html`due now`;
  return html`<tr data-tenant="${tenant.client_name}">
    <td><strong>${tenant.client_name}</strong><div class="muted small">${tenant.source_type} · every ${formatDuration(tenant.sync_interval)}</div></td>
    <td class="status">${badge(tenant.status, TENANT_TONES[tenant.status] ?? 'info')}${tenant.syncing_now ? html` ${badge('syncing', 'info')}` : ''}${
      tenant.queued_requests > 0 ? html` ${badge('sync queued', 'info')}` : ''
    }</td>
    <td>${lastSync}</td>
    <td>${nextSync}</td>
    <td class="num">${formatNumber(tenant.rows_synced_total)}</td>
    <td>${errors.length > 0 ? errors : html`<span class="muted">none</span>`}</td>
    <td class="actions">${
      tenant.sync_enabled ? actionButton(tenant.client_name, 'pause', 'Pause', csrfToken) : actionButton(tenant.client_name, 'start', 'Start', csrfToken)
    }${actionButton(tenant.client_name, 'trigger', 'Sync now', csrfToken)}</td>
  </tr>`;
}

function actionButton(tenant: string, action: string, label: string, csrfToken: string): SafeHtml {
  return html`<form method="post" action="/dashboard/tenants/${encodeURIComponent(tenant)}/${action}" data-action="${action}">
    <input type="hidden" name="csrf" value="${csrfToken}"><button type="submit" data-tenant="${tenant}" data-action="${action}">${label}</button>
  </form>`;
}

// ── jobs ────────────────────────────────────────────────────────────────────────────────────────────────────────

function jobsTable(jobs: DashboardJob[], now: Date): SafeHtml {
  if (jobs.length === 0) return html`<p class="empty">No sync jobs yet.</p>`;
  return html`<table>
    <thead><tr><th>Started</th><th>Tenant</th><th>Type</th><th>Status</th><th class="num">Duration</th><th class="num">Rows</th><th class="num">Throughput</th><th>Error</th></tr></thead>
    <tbody>${jobs.map(
      (job) => html`<tr data-job="${job.job_id}">
        <td>${timeCell(job.started_at, now)}</td>
        <td>${job.client_name}</td>
        <td>${job.sync_type}<div class="muted small">${job.triggered_by}</div></td>
        <td>${badge(job.status, JOB_TONES[job.status] ?? 'info')}</td>
        <td class="num">${formatDuration(job.duration_seconds)}</td>
        <td class="num">${formatNumber(job.rows_synced)}${job.rows_failed > 0 ? html`<div class="small bad-text">${formatNumber(job.rows_failed)} failed</div>` : ''}${
          job.rows_deleted > 0 ? html`<div class="small muted">${formatNumber(job.rows_deleted)} deleted</div>` : ''
        }</td>
        <td class="num">${formatRate(job.rows_per_second)}</td>
        <td class="error-text">${job.error ?? ''}</td>
      </tr>`,
    )}</tbody>
  </table>`;
}

// ── conflicts ───────────────────────────────────────────────────────────────────────────────────────────────────

function conflictsTable(conflicts: DashboardConflict[], now: Date): SafeHtml {
  if (conflicts.length === 0) return html`<p class="empty">No unresolved conflicts.</p>`;
  return html`<table>
    <thead><tr><th>Detected</th><th>Tenant</th><th>Table</th><th>Row</th><th>Kind</th><th>Strategy</th><th>Resolution</th></tr></thead>
    <tbody>${conflicts.map(
      (conflict) => html`<tr>
        <td>${timeCell(conflict.detected_at, now)}</td>
        <td>${conflict.client_name}</td>
        <td>${conflict.table_name}</td>
        <td><code>${JSON.stringify(conflict.row_key)}</code></td>
        <td>${conflict.kind}</td>
        <td>${conflict.strategy}</td>
        <td>${badge(conflict.resolution, conflict.resolution === 'pending' ? 'warn' : 'info')}</td>
      </tr>`,
    )}</tbody>
  </table>
  <p class="muted small">Details: <code>npx librechat-supabase tenants conflicts --json</code>.</p>`;
}

// ── legacy users ────────────────────────────────────────────────────────────────────────────────────────────────

// Short headers (the table has many columns); the `users status` wording is in each header's tooltip.
const USER_COLUMNS: Array<[string, string]> = [
  ['Fully synced', STATE_LABELS.fully_synced],
  ['Password, no ID', STATE_LABELS.password_no_id],
  ['ID, no password', STATE_LABELS.id_no_password],
  ['Not synced', STATE_LABELS.not_synced],
  ['Failed', 'Not synced yet, and the last attempt failed'],
  ['Excluded', STATE_LABELS.excluded],
  ['Synced in 24 h', 'Users synced in the last 24 hours'],
];

function usersTable(sources: DashboardUserSource[]): SafeHtml {
  if (sources.length === 0) return html`<p class="empty">No legacy users recorded yet. See them with <code>npx librechat-supabase users status</code>.</p>`;
  return html`<table>
    <thead><tr><th>Source</th><th class="num">Users</th>${USER_COLUMNS.map(([label, title]) => html`<th class="num" title="${title}">${label}</th>`)}</tr></thead>
    <tbody>${sources.map(
      ({ source, counts }) => html`<tr data-source="${source}">
        <td>${source}</td>
        <td class="num">${formatNumber(counts.total)}</td>
        <td class="num" data-state="fully_synced">${formatNumber(counts.fullySynced)}</td>
        <td class="num" data-state="password_no_id">${formatNumber(counts.passwordNoId)}</td>
        <td class="num" data-state="id_no_password">${formatNumber(counts.idNoPassword)}</td>
        <td class="num" data-state="not_synced">${formatNumber(counts.notSynced)}</td>
        <td class="num${counts.failed > 0 ? ' bad-text' : ''}" data-state="failed">${formatNumber(counts.failed)}</td>
        <td class="num" data-state="excluded">${formatNumber(counts.excluded)}</td>
        <td class="num">${formatNumber(counts.syncedLast24h)}</td>
      </tr>`,
    )}</tbody>
  </table>`;
}

// ── library ─────────────────────────────────────────────────────────────────────────────────────────────────────

function libraryTable(library: DashboardLibrary, now: Date): SafeHtml {
  const reconcile = library.last_reconcile;
  const reconcileLine = reconcile
    ? html`Last reconcile ${timeCell(reconcile.finished_at ?? reconcile.recorded_at, now)}${reconcile.dry_run ? ' (dry run)' : ''}: drift found — ${formatNumber(
        reconcile.added,
      )} added, ${formatNumber(reconcile.updated)} updated, ${formatNumber(reconcile.removed)} removed.`
    : html`No reconcile recorded. Run <code>npx librechat-supabase library reconcile --dry-run</code> to look for drift.`;
  const organizations =
    library.organizations.length === 0
      ? html`<p class="empty">No organizations yet.</p>`
      : html`<table>
    <thead><tr><th>Organization</th><th class="num">Agents (active / total)</th><th class="num">Prompts (active / total)</th><th class="num">Deleted</th><th>Last synced</th><th>Last used</th></tr></thead>
    <tbody>${library.organizations.map(
      (org) => html`<tr data-organization="${org.organization_id}">
        <td>${org.organization_name}${org.organization_slug ? html`<div class="muted small">${org.organization_slug}</div>` : ''}</td>
        <td class="num">${formatNumber(org.agents_active)} / ${formatNumber(org.agents_total)}</td>
        <td class="num">${formatNumber(org.prompts_active)} / ${formatNumber(org.prompts_total)}</td>
        <td class="num">${formatNumber(org.agents_deleted + org.prompts_deleted)}</td>
        <td>${timeCell(org.last_synced_at, now, 'never')}</td>
        <td>${timeCell(org.last_used_at, now, 'never')}</td>
      </tr>`,
    )}</tbody>
  </table>`;
  const processes =
    library.processes.length === 0
      ? html`<p class="muted small">No LibreChat process has reported its delivery queue in the last 10 minutes.</p>`
      : html`<table>
    <thead><tr><th>LibreChat process</th><th class="num">Queue depth</th><th class="num">Delivered</th><th class="num">Failures</th><th>Last error</th><th>Reported</th></tr></thead>
    <tbody>${library.processes.map(
      (proc) => html`<tr data-process="${proc.process_id}">
        <td>${proc.process_id}</td>
        <td class="num">${formatNumber(proc.depth)}</td>
        <td class="num">${formatNumber(proc.delivered)}</td>
        <td class="num">${formatNumber(proc.failures)}</td>
        <td>${proc.last_error ?? '—'}</td>
        <td>${timeCell(proc.reported_at, now)}</td>
      </tr>`,
    )}</tbody>
  </table>`;
  return html`${organizations}
  <p class="reconcile">${reconcileLine}</p>
  ${processes}`;
}

// ── cluster nodes ───────────────────────────────────────────────────────────────────────────────────────────────

function nodesTable(nodes: DashboardNode[], now: Date): SafeHtml {
  if (nodes.length === 0) return html`<p class="empty">No sync node has sent a heartbeat yet.</p>`;
  return html`<table>
    <thead><tr><th>Node</th><th>Cluster</th><th>Status</th><th>Last heartbeat</th><th>Started</th><th>Version</th></tr></thead>
    <tbody>${nodes.map(
      (node) => html`<tr data-node="${node.node_id}">
        <td>${node.node_id}${node.this_node ? html` <span class="muted small">(this node)</span>` : ''}${node.hostname ? html`<div class="muted small">${node.hostname}</div>` : ''}</td>
        <td>${node.cluster_name}</td>
        <td>${badge(node.status, node.status === 'healthy' ? 'ok' : node.status === 'stopped' ? 'idle' : 'bad')}${node.is_leader ? html` ${badge('leader', 'info')}` : ''}</td>
        <td>${timeCell(node.last_heartbeat, now)}</td>
        <td>${timeCell(node.started_at, now)}</td>
        <td>${node.version ?? ''}</td>
      </tr>`,
    )}</tbody>
  </table>`;
}
