import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createTestDatabase } from '../support/database.js';
import { silentLogger } from '../../src/core/logger.js';
import { createSyncService, type SyncService } from '../../src/service/server.js';
import { tenantSyncPlugin } from '../../src/tenants/service.js';
import { registerTenant } from '../../src/tenants/lifecycle.js';
import { syncTenant } from '../../src/tenants/engine.js';
import { compareWebUiTenant } from './support/compare.js';
import { WebUiDb } from './support/webui-fixture.js';

/** Sync nodes: scheduler, heartbeats, leader, the REST API and its token, failover when a node dies. */

const db = await createTestDatabase();
const TOKEN = 'test-token-0123456789-abcdefghij';
const TICK = 400;
const fixtures: WebUiDb[] = [];
const services: SyncService[] = [];
afterAll(async () => {
  for (const service of services.reverse()) await service.close().catch(() => undefined);
  fixtures.forEach((f) => f.close(true));
});

function fixture(chats = 5): WebUiDb {
  const f = WebUiDb.create({ seed: fixtures.length + 20 });
  fixtures.push(f);
  const { users } = f.seedBasic(2);
  f.db.transaction(() => {
    for (let i = 0; i < chats; i++) f.insertChat(f.pick(users));
  })();
  return f;
}

async function startNode(nodeId: string, tickMs = TICK): Promise<{ service: SyncService; url: string }> {
  const service = await createSyncService({ pool: db.pool, logger: silentLogger, nodeId, clusterName: 'test-cluster', apiToken: TOKEN, plugins: [tenantSyncPlugin({ tickMs })] });
  services.push(service);
  const { port } = await service.listen(0, '127.0.0.1');
  return { service, url: `http://127.0.0.1:${port}` };
}

async function api(base: string, method: string, route: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number; body: any; text: string }> {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed, text };
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function overlappingJobs(): Promise<number> {
  const { rows } = await db.pool.query(
    `select count(*)::int as n from sync_metadata.sync_jobs a join sync_metadata.sync_jobs b
        on a.client_name = b.client_name and a.job_id <> b.job_id and a.started_at <= b.started_at
     where coalesce(a.completed_at, 'infinity') > b.started_at`,
  );
  return rows[0].n;
}

describe('sync nodes and the REST API', () => {
  it('two nodes: one leader, distinct ids, health, token on every route but /health, state, trigger, conflicts, metrics', async () => {
    const a = await startNode('node-a');
    const b = await startNode('node-b');
    await expect(startNode('node-a')).rejects.toMatchObject({ code: 'LCS_NODE_ID_IN_USE' });

    const healthA = await api(a.url, 'GET', '/health', undefined, null);
    const healthB = await api(b.url, 'GET', '/health', undefined, null);
    expect(healthA.status).toBe(200);
    expect(healthA.body).toMatchObject({ status: 'healthy', node_id: 'node-a', cluster_name: 'test-cluster', is_leader: true, role: 'primary', leader_id: 'node-a' });
    expect(typeof healthA.body.uptime_seconds).toBe('number');
    expect(healthB.body).toMatchObject({ node_id: 'node-b', is_leader: false, role: 'secondary', leader_id: 'node-a' });

    for (const [method, route] of [
      ['POST', '/api/v1/sync/trigger'],
      ['GET', '/api/v1/cluster/status'],
      ['GET', '/api/v1/state/x'],
      ['PUT', '/api/v1/state/x'],
      ['GET', '/api/v1/conflicts'],
      ['GET', '/api/v1/tenants'],
      ['GET', '/api/v1/jobs'],
      ['GET', '/metrics'],
    ] as const) {
      expect((await api(a.url, method, route, method === 'GET' ? undefined : {}, null)).status, `${method} ${route}`).toBe(401);
      expect((await api(a.url, method, route, method === 'GET' ? undefined : {}, 'wrong-token-wrong-token-wrong')).status).toBe(401);
    }

    const cluster = await api(b.url, 'GET', '/api/v1/cluster/status');
    expect(cluster.status).toBe(200);
    expect(cluster.body.cluster_name).toBe('test-cluster');
    expect(cluster.body.nodes.map((n: { host_id: string }) => n.host_id)).toEqual(['node-a', 'node-b']);
    expect(cluster.body.nodes.filter((n: { is_leader: boolean }) => n.is_leader)).toHaveLength(1);
    expect(cluster.body.nodes[0]).toMatchObject({ status: 'healthy', is_leader: true });

    expect((await api(a.url, 'GET', '/api/v1/state/my-key')).status).toBe(404);
    const put = await api(a.url, 'PUT', '/api/v1/state/my-key', { key: 'my-key', value: { data: 'value', n: [1, 2] } });
    expect(put.status).toBe(200);
    expect((await api(b.url, 'GET', '/api/v1/state/my-key')).body).toMatchObject({ key: 'my-key', value: { data: 'value', n: [1, 2] } });
    expect((await api(a.url, 'PUT', '/api/v1/state/my-key', { key: 'other', value: 1 })).status).toBe(400);

    const f = fixture();
    await registerTenant(db.pool, { name: 'api_tenant', source: f.file, config: { conflict_strategy: 'manual' } });
    expect((await api(a.url, 'POST', '/api/v1/sync/trigger', { client_name: 'nobody' })).status).toBe(404);
    expect((await api(a.url, 'POST', '/api/v1/sync/trigger', { client_name: 'bad"; drop' })).status).toBe(400);
    expect((await api(a.url, 'POST', '/api/v1/sync/trigger', { client_name: 'api_tenant', full_sync: 'yes' })).status).toBe(400);
    const trigger = await api(b.url, 'POST', '/api/v1/sync/trigger', { client_name: 'api_tenant', full_sync: false });
    expect(trigger.status).toBe(202);
    expect(trigger.body).toMatchObject({ status: 'queued', client: 'api_tenant', full_sync: false, triggered_by: 'api' });
    const job = await until('the API-triggered job', async () => {
      const { rows } = await db.pool.query(`select * from sync_metadata.sync_jobs where client_name = 'api_tenant' and status = 'completed'`);
      return rows[0];
    });
    expect(job).toMatchObject({ triggered_by: 'api', sync_type: 'incremental' });
    expect(['node-a', 'node-b']).toContain(job.node_id);
    const request = await db.pool.query(`select picked_by, job_id from sync_metadata.sync_requests where request_id = $1`, [trigger.body.request_id]);
    expect(request.rows[0]).toMatchObject({ picked_by: job.node_id, job_id: job.job_id });
    // The tenant is not enabled: the trigger ran it once, the scheduler does not.
    expect((await compareWebUiTenant(f.file, db.pool, 'api_tenant')).mismatches).toEqual([]);

    await db.pool.query(`update api_tenant.chat set title = 'edited in supabase'`);
    f.tick();
    f.db.prepare(`update chat set title = 'edited in open webui', updated_at = ?`).run(f.nowSeconds);
    await api(a.url, 'POST', '/api/v1/sync/trigger', { client_name: 'api_tenant' });
    const conflicts = await until('open conflicts', async () => {
      const response = await api(a.url, 'GET', '/api/v1/conflicts?client_name=api_tenant&limit=100');
      return response.body.count === 7 ? response : null;
    });
    expect(conflicts.body.conflicts[0]).toMatchObject({ client_name: 'api_tenant', table_name: 'chat', strategy: 'manual', resolution: 'pending', resolved: false });
    expect((await api(a.url, 'GET', '/api/v1/conflicts?client_name=api_tenant&limit=2')).body.conflicts).toHaveLength(2);

    await until('the second job to finish', async () => {
      const { rows } = await db.pool.query(`select count(*)::int as n from sync_metadata.sync_jobs where client_name = 'api_tenant' and status = 'completed'`);
      return rows[0].n === 2;
    });
    const metrics = await api(a.url, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^# HELP lcs_tenant_sync_jobs_total/m);
    expect(metrics.text).toMatch(/^lcs_tenant_sync_jobs_total\{client_name="api_tenant",status="completed"\} 2$/m);
    expect(metrics.text).toMatch(/^lcs_tenant_open_conflicts\{client_name="api_tenant"\} 7$/m);
    expect(metrics.text).toMatch(/^lcs_node_is_leader\{node_id="node-a"\} 1$/m);
    expect(metrics.text).toMatch(/^lcs_cluster_nodes\{status="healthy"\} 2$/m);

    const tenants = await api(b.url, 'GET', '/api/v1/tenants');
    expect(tenants.body.tenants.map((t: { client_name: string }) => t.client_name)).toEqual(['api_tenant']);
    expect((await api(b.url, 'GET', '/api/v1/jobs?client_name=api_tenant')).body.jobs).toHaveLength(2);

    // The leader leaves: the other node takes over leadership.
    await a.service.close();
    services.splice(services.indexOf(a.service), 1);
    await until('node-b to lead', async () => (await api(b.url, 'GET', '/health', undefined, null)).body.is_leader === true);
    await b.service.close();
    services.splice(services.indexOf(b.service), 1);
    const stopped = await db.pool.query(`select node_id, status from sync_metadata.node_heartbeats order by node_id`);
    expect(stopped.rows).toEqual([
      { node_id: 'node-a', status: 'stopped' },
      { node_id: 'node-b', status: 'stopped' },
    ]);
  }, 120_000);

  it('scheduler: three nodes share enabled tenants, every tenant is synced, no tenant ever has overlapping jobs', async () => {
    const names = ['sched_a', 'sched_b', 'sched_c', 'sched_d'];
    const sources = new Map<string, WebUiDb>();
    for (const name of names) {
      const f = fixture(150);
      sources.set(name, f);
      await registerTenant(db.pool, { name, source: f.file, interval: 5, enable: name !== 'sched_d', config: { page_size: 10 } });
    }
    const nodes = await Promise.all(['n1', 'n2', 'n3'].map((id) => startNode(id, 300)));
    await until(
      'every enabled tenant synced twice',
      async () => {
        const { rows } = await db.pool.query(`select client_name, count(*)::int as n from sync_metadata.sync_jobs where status = 'completed' and client_name like 'sched_%' group by client_name`);
        const counts = new Map(rows.map((r) => [r.client_name, r.n]));
        return ['sched_a', 'sched_b', 'sched_c'].every((n) => (counts.get(n) ?? 0) >= 2);
      },
      60_000,
    );
    for (const node of nodes) {
      await node.service.close();
      services.splice(services.indexOf(node.service), 1);
    }
    await db.pool.query(`update sync_metadata.client_deployments set sync_enabled = false, status = 'paused' where client_name like 'sched_%'`);
    expect(await overlappingJobs()).toBe(0);
    const paused = await db.pool.query(`select count(*)::int as n from sync_metadata.sync_jobs where client_name = 'sched_d'`);
    expect(paused.rows[0].n).toBe(0);
    const triggered = await db.pool.query(`select distinct triggered_by from sync_metadata.sync_jobs where client_name like 'sched_%'`);
    expect(triggered.rows).toEqual([{ triggered_by: 'scheduler' }]);
    for (const name of ['sched_a', 'sched_b', 'sched_c']) {
      expect((await compareWebUiTenant(sources.get(name)!.file, db.pool, name)).mismatches).toEqual([]);
    }
  }, 120_000);

  it('a node killed mid-sync has its tenant resumed by another node within two scheduler ticks', async () => {
    const f = fixture(800);
    await registerTenant(db.pool, { name: 'failover', source: f.file, interval: 3600, enable: true, config: { page_size: 10 } });
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('test/tenants/support/service-child.ts'), db.url, 'doomed-node', String(TICK)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let childOutput = '';
    child.stdout.on('data', (chunk: Buffer) => (childOutput += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (childOutput += chunk.toString()));
    await until('the doomed node to sync', async () => {
      const { rows } = await db.pool.query(`select rows_synced from sync_metadata.sync_jobs where client_name = 'failover' and node_id = 'doomed-node' and status = 'running'`);
      return rows[0] && Number(rows[0].rows_synced) > 50;
    }, 60_000).catch((error) => {
      throw new Error(`${(error as Error).message}\n${childOutput}`);
    });
    const survivor = await startNode('survivor', TICK);
    child.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((resolve) => child.on('exit', resolve));

    const resumed = await until('the survivor to take the tenant', async () => {
      const { rows } = await db.pool.query(`select started_at from sync_metadata.sync_jobs where client_name = 'failover' and node_id = 'survivor'`);
      return rows[0];
    });
    expect(resumed.started_at.getTime() - killedAt).toBeLessThanOrEqual(2 * TICK + 500);
    await until('the resumed sync to complete', async () => {
      const { rows } = await db.pool.query(`select status from sync_metadata.sync_jobs where client_name = 'failover' and node_id = 'survivor' and status <> 'running'`);
      return rows[0];
    }, 90_000);
    await survivor.service.close();
    services.splice(services.indexOf(survivor.service), 1);

    const jobs = await db.pool.query(`select node_id, status, error from sync_metadata.sync_jobs where client_name = 'failover' order by started_at`);
    expect(jobs.rows).toEqual([
      expect.objectContaining({ node_id: 'doomed-node', status: 'failed', error: expect.stringMatching(/abandoned/) }),
      expect.objectContaining({ node_id: 'survivor', status: 'completed' }),
    ]);
    expect(await overlappingJobs()).toBe(0);
    await syncTenant({ pool: db.pool, tenant: 'failover' });
    expect((await compareWebUiTenant(f.file, db.pool, 'failover')).mismatches).toEqual([]);
  }, 180_000);
});
