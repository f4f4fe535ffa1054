/**
 * A sync node in its own process (what `serve` runs), for tests that SIGKILL a node:
 *   node --import tsx test/tenants/support/service-child.ts DATABASE_URL NODE_ID TICK_MS
 * Prints "listening PORT" once up.
 */
import { createPool } from '../../../src/core/database.js';
import { silentLogger } from '../../../src/core/logger.js';
import { createSyncService } from '../../../src/service/server.js';
import { tenantSyncPlugin } from '../../../src/tenants/service.js';

const [url, nodeId, tickMs] = process.argv.slice(2);
const pool = createPool(url!, { max: 6, applicationName: `lcs node ${nodeId}` });
const service = await createSyncService({
  pool,
  logger: silentLogger,
  nodeId,
  clusterName: 'test-cluster',
  apiToken: 'test-token-0123456789-abcdefghij',
  plugins: [tenantSyncPlugin({ tickMs: Number(tickMs ?? 500) })],
});
const { port } = await service.listen(0, '127.0.0.1');
process.stdout.write(`listening ${port}\n`);
