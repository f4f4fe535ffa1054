import type pg from 'pg';
import { pauseTenant, startTenant } from '../tenants/lifecycle.js';
import { validateTenantName } from '../tenants/names.js';
import { requireTenant } from '../tenants/registry.js';

/** The dashboard's tenant buttons: the same lifecycle steps as `tenants pause|start` and `POST /api/v1/sync/trigger`. */

export const TENANT_ACTIONS = ['pause', 'start', 'trigger'] as const;
export type TenantAction = (typeof TENANT_ACTIONS)[number];

export function isTenantAction(value: string): value is TenantAction {
  return (TENANT_ACTIONS as readonly string[]).includes(value);
}

export async function runTenantAction(pool: pg.Pool, name: string, action: TenantAction): Promise<{ message: string }> {
  const tenant = validateTenantName(name);
  switch (action) {
    case 'pause':
      await pauseTenant(pool, tenant);
      return { message: `Paused ${tenant}: scheduled syncs stop (a running sync finishes its run).` };
    case 'start':
      await startTenant(pool, tenant);
      return { message: `Started ${tenant}: it syncs now and then every interval.` };
    case 'trigger':
      await requestTenantSync(pool, tenant);
      return { message: `Sync of ${tenant} queued: the next free node runs it.` };
  }
}

/** Queues a sync the way the REST trigger does; any node's scheduler picks it up on its next tick. */
async function requestTenantSync(pool: pg.Pool, tenant: string): Promise<void> {
  await requireTenant(pool, tenant);
  await pool.query(`insert into sync_metadata.sync_requests (client_name, full_sync, triggered_by) values ($1, false, 'dashboard')`, [tenant]);
}
