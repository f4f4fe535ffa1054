import type pg from 'pg';
import { silentLogger } from '../../../src/core/logger.js';
import { dashboardPlugin } from '../../../src/dashboard/plugin.js';
import { createSyncService, type ServicePlugin, type SyncService } from '../../../src/service/server.js';

/** Real rows in the tables the dashboard reads, and a sync node serving it. */

export const TOKEN = 'dashboard-test-token-0123456789abcdef';
/** An error text an attacker could get into the ledger (e.g. through a source row): it must show as text. */
export const HOSTILE = `<script>document.title="pwned"</script><img src=x onerror="alert('x')">&"'`;

export interface Seeded {
  organizationId: string;
}

export async function seedDashboardData(pool: pg.Pool): Promise<Seeded> {
  await pool.query(
    `insert into sync_metadata.client_deployments (client_name, source_type, source_location, sync_enabled, status, sync_interval, last_sync_at, last_sync_status, next_sync_at)
     values ('acme', 'openwebui_sqlite', '/srv/acme/webui.db', true, 'active', 300, now() - interval '2 minutes', 'completed', now() + interval '3 minutes'),
            ('globex', 'librechat_mongo', 'mongodb://mongo.internal:27017/LibreChat', false, 'paused', 600, now() - interval '1 hour', 'failed', null)`,
  );
  await pool.query(
    `insert into sync_metadata.sync_jobs (client_name, started_at, completed_at, status, sync_type, triggered_by, rows_synced, rows_failed, duration_seconds, node_id)
     values ('acme', now() - interval '3 minutes', now() - interval '2 minutes', 'completed', 'full', 'scheduler', 1200, 0, 60, 'node-a')`,
  );
  await pool.query(
    `insert into sync_metadata.sync_jobs (client_name, started_at, completed_at, status, sync_type, triggered_by, rows_synced, rows_failed, duration_seconds, error, node_id)
     values ('globex', now() - interval '61 minutes', now() - interval '60 minutes', 'failed', 'incremental', 'api', 7, 3, 4, $1, 'node-a')`,
    [HOSTILE],
  );
  await pool.query(
    `insert into sync_metadata.conflict_log (client_name, table_name, row_key, kind, strategy, resolution)
     values ('acme', 'chat', '{"id": "chat-42"}', 'update', 'manual', 'pending'),
            ('acme', 'user', '{"id": "u-1"}', 'update', 'source_wins', 'source_applied')`,
  );
  // The second conflict is resolved: the dashboard lists unresolved ones only.
  await pool.query(`update sync_metadata.conflict_log set resolved = true, resolved_at = now() where table_name = 'user'`);
  await pool.query(
    `insert into sync_metadata.node_heartbeats (node_id, cluster_name, hostname, version, last_heartbeat, status, is_leader)
     values ('node-a', 'prod', 'host-a', '1.2.3', now(), 'healthy', true),
            ('node-b', 'prod', 'host-b', '1.2.3', now() - interval '10 minutes', 'healthy', true)`,
  );
  await pool.query(
    `insert into lcs_users.librechat_links (supabase_user_id, email, source, librechat_user_id, librechat_password_encrypted, excluded_reason, last_error)
     values ('u1', 'one@example.com', 'auth.users', 'lc-1', 'gAAAA-token', null, null),
            ('u2', 'two@example.com', 'auth.users', 'lc-2', 'gAAAA-token', null, null),
            ('u3', 'three@example.com', 'auth.users', null, null, null, 'LibreChat answered 500'),
            ('u4', 'bot@example.com', 'auth.users', null, null, 'service account', null)`,
  );
  const { rows } = await pool.query<{ id: string }>(`insert into public.organizations (name, slug) values ($1, 'acme-corp') returning id`, [`Acme ${HOSTILE}`]);
  const organizationId = rows[0]!.id;
  await pool.query(
    `insert into public.agent_library (organization_id, librechat_agent_id, name, synced_at, is_active)
     values ($1, 'agent_one', 'Helper', now() - interval '5 minutes', true),
            ($1, 'agent_two', 'Writer', now() - interval '6 minutes', false)`,
    [organizationId],
  );
  return { organizationId };
}

export async function startDashboardNode(pool: pg.Pool, options: { nodeId?: string; plugin?: ServicePlugin } = {}): Promise<{ service: SyncService; url: string }> {
  const service = await createSyncService({
    pool,
    logger: silentLogger,
    apiToken: TOKEN,
    nodeId: options.nodeId ?? 'node-a',
    clusterName: 'prod',
    plugins: [options.plugin ?? dashboardPlugin],
  });
  const { port } = await service.listen(0, '127.0.0.1');
  return { service, url: `http://127.0.0.1:${port}` };
}
