/**
 * A tenant sync in its own process, for tests that SIGKILL it or race several of them:
 *   node --import tsx test/tenants/support/sync-child.ts DATABASE_URL TENANT [WAIT_MS] [CONFIG_JSON]
 * Prints one line per committed page ("page TABLE TOTAL") and "done STATUS" at the end.
 */
import { createPool } from '../../../src/core/database.js';
import { syncTenant } from '../../../src/tenants/engine.js';

const [url, tenant, waitMs, config] = process.argv.slice(2);
const pool = createPool(url!, { max: 2, applicationName: 'lcs sync child' });
try {
  const result = await syncTenant({
    pool,
    tenant: tenant!,
    nodeId: `child-${process.pid}`,
    triggeredBy: 'test-child',
    waitForClaimMs: Number(waitMs ?? 0),
    configOverrides: config ? JSON.parse(config) : {},
    onProgress: (event) => {
      if (event.type === 'page') process.stdout.write(`page ${event.table} ${event.total}\n`);
    },
  });
  process.stdout.write(`done ${result.status} ${result.jobId}\n`);
} catch (error) {
  process.stdout.write(`error ${(error as { code?: string }).code ?? (error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
