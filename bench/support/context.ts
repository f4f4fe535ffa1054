/**
 * What a benchmark module receives from `bench/run.ts`, and what it returns.
 *
 * A benchmark module is `bench/<name>.bench.ts` with
 *   export default async function run(context: BenchContext): Promise<BenchResult[]>
 * It asks the context for the servers it needs (started on first request, shared by every bench of the run,
 * stopped by the runner) and returns one row per measurement. Baselines are measured in the same run, so the
 * ratio compares like with like on whatever machine (and load) the run had.
 */
import pg from 'pg';
import { startMongo, type RunningMongo } from '../../test/support/mongo-server.js';
import { startPostgres, withDatabase, type RunningPostgres } from '../../test/support/postgres-server.js';

export interface BenchTarget {
  /** `<=`: the value must not exceed it (latency, memory); `>=`: must reach it (throughput). */
  op: '<=' | '>=';
  value: number;
}

export interface BenchResult {
  /** Short and unique within the bench, e.g. "overhead p50 added (list)". */
  name: string;
  value: number;
  /** e.g. "ms", "changes/s", "MB". */
  unit: string;
  /** The target; rows without one are informational. */
  target?: BenchTarget;
  /** The same measurement without our code (or the naive way), same unit, same run. */
  baseline?: number;
  /** Defaults to value / baseline when a baseline is given. */
  ratio?: number;
  /** Printed under the table: sizes, what was compared, why a target is missed. */
  note?: string;
}

export interface BenchDatabase {
  /** Superuser URL of a fresh database cloned from the migrated template (never printed). */
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

export interface BenchContext {
  /** Embedded PostgreSQL 17 (or DATABASE_URL) with the Supabase emulation and every migration in a template. */
  database(prefix: string): Promise<BenchDatabase>;
  /** A Mongo-wire server (FerretDB v1 as in the tests, or MONGO_URL): a URL with a fresh database name. */
  mongoDatabase(prefix: string): Promise<string>;
  /** Progress lines go to stderr, so stdout stays the table. */
  log(message: string): void;
  /** BENCH_QUICK=1: smaller sizes (a smoke run of the harness, not a measurement). */
  quick: boolean;
}

export interface ServiceHost {
  context: (bench: string) => BenchContext;
  stop(): Promise<void>;
}

/** Starts the servers lazily, once per run; `stop` ends what was started. */
export function createServiceHost(): ServiceHost {
  let postgres: Promise<RunningPostgres> | undefined;
  let mongo: Promise<RunningMongo> | undefined;
  const databases: BenchDatabase[] = [];
  const quick = process.env.BENCH_QUICK === '1';

  const startedPostgres = () =>
    (postgres ??= (async () => {
      const started = performance.now();
      const running = await startPostgres();
      process.stderr.write(`[bench] PostgreSQL ready with migrated template (${Math.round(performance.now() - started)} ms)\n`);
      return running;
    })());

  const startedMongo = () =>
    (mongo ??= (async () => {
      const running = await startMongo();
      if (!('url' in running)) throw new Error(`no Mongo-wire server for this bench: ${running.reason}`);
      process.stderr.write('[bench] Mongo-wire server ready\n');
      return running;
    })());

  return {
    context(bench) {
      return {
        quick,
        log: (message) => process.stderr.write(`[${bench}] ${message}\n`),
        async database(prefix) {
          const server = await startedPostgres();
          const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${databases.length}`;
          const admin = new pg.Client({ connectionString: server.adminUrl });
          await admin.connect();
          try {
            await admin.query(`create database ${name} template ${server.templateDatabase}`);
          } finally {
            await admin.end();
          }
          const url = withDatabase(server.adminUrl, name);
          const pool = new pg.Pool({ connectionString: url, max: 8 });
          const database: BenchDatabase = {
            url,
            pool,
            async drop() {
              await pool.end().catch(() => undefined);
              const cleanup = new pg.Client({ connectionString: server.adminUrl });
              await cleanup.connect();
              await cleanup.query(`drop database if exists ${name} with (force)`).catch(() => undefined);
              await cleanup.end();
            },
          };
          databases.push(database);
          return database;
        },
        async mongoDatabase(prefix) {
          const server = await startedMongo();
          const url = new URL(server.url);
          url.pathname = `/${prefix.replace(/[^a-z0-9_]/gi, '_')}_${Date.now()}`;
          return url.toString();
        },
      };
    },
    async stop() {
      for (const database of databases.splice(0)) await database.drop().catch(() => undefined);
      if (mongo) await (await mongo.catch(() => null))?.stop();
      if (postgres) await (await postgres.catch(() => null))?.stop();
      mongo = undefined;
      postgres = undefined;
    },
  };
}
