import type { Queryable } from '../core/database.js';
import { breakdown, countStates, listLinks, type Breakdown, type LinkRow, type StateCounts, type SyncState } from './links.js';

/** `users status`: the seed's report (four states, recent activity, recommendations) as data and as text. */

export interface StatusReport {
  source: string;
  counts: StateCounts;
  fullySyncedPercent: number;
  recommendations: string[];
  detailed?: { byOrganization: Breakdown[]; byProvider: Breakdown[] };
  unsynced?: Array<Pick<LinkRow, 'supabaseUserId' | 'email' | 'joinedAt' | 'state' | 'attempts' | 'lastError' | 'workflowId'>>;
}

export const STATE_LABELS: Record<SyncState, string> = {
  fully_synced: 'Fully synced',
  password_no_id: 'Has password but no LibreChat ID',
  id_no_password: 'Has LibreChat ID but no password',
  not_synced: 'Not synced',
  excluded: 'Excluded (service account)',
};

export const COMMAND = 'npx librechat-supabase users';

export function recommendations(counts: StateCounts): string[] {
  const out: string[] = [];
  if (counts.notSynced > 0) {
    out.push(`Run sync command to provision ${counts.notSynced} unsynced user(s):\n  ${COMMAND} sync --dry-run\n  ${COMMAND} sync`);
  }
  if (counts.passwordNoId > 0) {
    out.push(
      `${counts.passwordNoId} user(s) have a password but no LibreChat ID (an attempt failed or is still running). ` +
        `\`${COMMAND} sync\` resumes unfinished workflows and retries them; see why with \`${COMMAND} status --show-unsynced\`.`,
    );
  }
  if (counts.idNoPassword > 0) {
    out.push(`${counts.idNoPassword} user(s) have a LibreChat ID but no stored password: \`${COMMAND} sync\` issues one and sets it in LibreChat.`);
  }
  if (counts.failed > 0) {
    out.push(`${counts.failed} user(s) failed on their last attempt: fix the cause shown by \`${COMMAND} status --show-unsynced\`, then \`${COMMAND} sync --retry-failed\`.`);
  }
  if (out.length === 0) {
    out.push(counts.total === 0 ? 'No users found in the source.' : 'All users are fully synced! No action needed.');
  }
  return out;
}

export async function buildStatusReport(
  db: Queryable,
  options: { source: string; description: string; detailed?: boolean; showUnsynced?: boolean; unsyncedLimit?: number },
): Promise<StatusReport> {
  const counts = await countStates(db, options.source);
  const report: StatusReport = {
    source: options.description,
    counts,
    fullySyncedPercent: counts.total === 0 ? 0 : Math.round((counts.fullySynced / counts.total) * 1000) / 10,
    recommendations: recommendations(counts),
  };
  if (options.detailed) {
    report.detailed = {
      byOrganization: await breakdown(db, options.source, 'organization'),
      byProvider: await breakdown(db, options.source, 'auth_provider'),
    };
  }
  if (options.showUnsynced) {
    const links = await listLinks(db, {
      source: options.source,
      states: ['password_no_id', 'id_no_password', 'not_synced'],
      limit: options.unsyncedLimit ?? 1000,
    });
    report.unsynced = links.map(({ supabaseUserId, email, joinedAt, state, attempts, lastError, workflowId }) => ({
      supabaseUserId,
      email,
      joinedAt,
      state,
      attempts,
      lastError,
      workflowId,
    }));
  }
  return report;
}

const RULE = '='.repeat(70);
const LINE = '-'.repeat(70);

export function formatJoined(date: Date | null): string {
  if (!date) return 'unknown';
  return date.toISOString().slice(0, 16).replace('T', ' ');
}

export function renderStatusReport(report: StatusReport): string {
  const c = report.counts;
  const lines = [
    RULE,
    'LibreChat Sync Status Report',
    RULE,
    '',
    `Source: ${report.source}`,
    '',
    'Summary:',
    LINE,
    `Total users: ${c.total}`,
    '',
    `✓ ${STATE_LABELS.fully_synced}: ${c.fullySynced} (${report.fullySyncedPercent.toFixed(1)}%)`,
    `⚠ ${STATE_LABELS.password_no_id}: ${c.passwordNoId}`,
    `⚠ ${STATE_LABELS.id_no_password}: ${c.idNoPassword}`,
    `✗ ${STATE_LABELS.not_synced}: ${c.notSynced}`,
  ];
  if (c.failed > 0) lines.push(`✗ Last attempt failed: ${c.failed}`);
  lines.push(`○ ${STATE_LABELS.excluded}: ${c.excluded}`);
  if (c.missingFromSource > 0) lines.push(`○ No longer in the source (deleted): ${c.missingFromSource}`);
  lines.push('', 'Recent Activity:', LINE, `Synced in last 24 hours: ${c.syncedLast24h}`, `Synced in last 7 days: ${c.syncedLast7d}`);

  if (report.detailed) {
    lines.push('', 'By state:', LINE);
    const states: Array<[SyncState, number]> = [
      ['fully_synced', c.fullySynced],
      ['password_no_id', c.passwordNoId],
      ['id_no_password', c.idNoPassword],
      ['not_synced', c.notSynced],
      ['excluded', c.excluded],
    ];
    for (const [state, count] of states) lines.push(`  ${STATE_LABELS[state].padEnd(40)} ${String(count).padStart(8)}`);
    lines.push('', 'By organization:', LINE, ...renderBreakdown(report.detailed.byOrganization));
    lines.push('', 'By provider:', LINE, ...renderBreakdown(report.detailed.byProvider));
  }

  if (report.unsynced) {
    lines.push('', `Unsynced users (${report.unsynced.length}${report.unsynced.length >= 1000 ? ', first 1000' : ''}):`, LINE);
    for (const user of report.unsynced) {
      lines.push(`  • ${user.email} (ID: ${user.supabaseUserId})`);
      lines.push(`    Joined: ${formatJoined(user.joinedAt)}   Status: ${STATE_LABELS[user.state]}   Attempts: ${user.attempts}`);
      if (user.lastError) lines.push(`    Last error: ${user.lastError.slice(0, 300)}`);
    }
    if (report.unsynced.length === 0) lines.push('  (none)');
  }

  lines.push('', RULE, 'Recommendations:', LINE, ...report.recommendations.map((text) => `• ${text}`));
  return `${lines.join('\n')}\n`;
}

function renderBreakdown(rows: Breakdown[]): string[] {
  const keys = [...new Set(rows.map((row) => row.key))];
  if (keys.length === 0) return ['  (no users)'];
  return keys.map((key) => {
    const parts = rows
      .filter((row) => row.key === key)
      .map((row) => `${STATE_LABELS[row.state].toLowerCase()}: ${row.count}`)
      .join(', ');
    return `  ${key}: ${parts}`;
  });
}
