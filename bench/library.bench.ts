/**
 * Library sync benchmarks (issue 3): request-path overhead of the middlewares, with Supabase fast and 300 ms slow;
 * delivery throughput of agent changes; usage ingestion with exact counts. See bench/README.md.
 */
import { silentLogger } from '../src/core/logger.js';
import { createLibreChatSupabase } from '../src/library/client.js';
import type { BenchContext, BenchResult } from './support/context.js';
import { deliveryBench } from './library/delivery.js';
import { seedOrganization } from './library/fixtures.js';
import { overheadBench } from './library/overhead.js';
import { usageBench } from './library/usage.js';

export default async function run(context: BenchContext): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  rows.push(...(await overheadBench(context)));

  const database = await context.database('bench_delivery');
  const mongoUrl = await context.mongoDatabase('bench_delivery');
  const member = await seedOrganization(database.pool, 'delivery');
  const lcs = createLibreChatSupabase({ databaseUrl: database.url, librechatMongoUri: mongoUrl, logger: silentLogger, backgroundIntervalMs: 0 });
  try {
    const fixture = { context, database, mongoUrl, member, lcs, store: lcs.internals.store };
    const delivery = await deliveryBench(fixture);
    rows.push(...delivery.rows);
    rows.push(...(await usageBench(fixture, delivery.storeAgentIds)));
  } finally {
    await lcs.close({ timeoutMs: 5_000 });
    await database.drop();
  }
  return rows;
}
