import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { readDashboard } from '../../src/dashboard/data.js';
import { renderSections } from '../../src/dashboard/sections.js';
import { createLibreChatSupabase } from '../../src/library/client.js';
import { createTestDatabase } from '../support/database.js';

const db = await createTestDatabase();

describe('library delivery health reaches the dashboard', () => {
  it('a LibreChat process reports its queue depth and last error; the dashboard shows them', async () => {
    const lcs = createLibreChatSupabase({
      databaseUrl: db.url,
      librechatMongoUri: 'mongodb://127.0.0.1:1/none',
      logger: silentLogger,
      healthReportIntervalMs: 50,
      backgroundIntervalMs: 0,
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    await lcs.close({ timeoutMs: 100 });
    const { rows } = await db.pool.query(`select key, value from sync_metadata.state where key like 'library.health.%'`);
    expect(rows).toHaveLength(1);
    expect(rows[0].value).toMatchObject({ depth: 0, transport: 'postgres' });

    await db.pool.query(
      `insert into sync_metadata.state (key, value) values ('library.health.web-1:42', '{"depth": 17, "delivered": 3, "failures": 2, "lastError": "connect ECONNREFUSED <b>x</b>"}')`,
    );
    const data = await readDashboard(db.pool, silentLogger, { nodeId: 'n', clusterName: 'c', staleAfterSeconds: 15, jobLimit: 10, conflictLimit: 10 });
    const html = renderSections(data, 'csrf').library;
    expect(html).toContain('web-1:42');
    expect(html).toMatch(/>17</);
    expect(html).toContain('connect ECONNREFUSED &lt;b&gt;x&lt;/b&gt;');
  });
});
