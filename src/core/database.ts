import pg from 'pg';
import { LcsError, describeError } from './errors.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export interface CreatePoolOptions {
  max?: number;
  applicationName?: string;
  /** Milliseconds to wait for a connection before failing. */
  connectionTimeoutMillis?: number;
  /**
   * Milliseconds after which a query that got no answer fails (client side) and its connection is discarded: a
   * server that stopped answering without closing the connection (a network partition) cannot stall the caller
   * until the operating system gives up on the socket. Unset: no limit.
   */
  queryTimeoutMillis?: number;
}

/** One pg pool for a connection string. Errors on idle clients are logged by pg and never crash the host. */
export function createPool(connectionString: string, options: CreatePoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'librechat-supabase',
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 10_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    ...(options.queryTimeoutMillis ? { query_timeout: options.queryTimeoutMillis } : {}),
  });
  pool.on('error', () => {
    // An idle client lost its connection; the next query reconnects. Never let this crash the host process.
  });
  return pool;
}

/** Runs `work` inside BEGIN/COMMIT on one client, rolling back on any error. */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Checks that a database answers; throws an LcsError with the fix otherwise. */
export async function assertReachable(pool: pg.Pool, what = 'Postgres'): Promise<void> {
  try {
    await pool.query('select 1');
  } catch (error) {
    throw new LcsError('LCS_DB_UNREACHABLE', `${what} is not reachable: ${describeError(error)}`, {
      hint: 'Check SUPABASE_DB_URL (host, port 5432 for session mode, password) and that the server is running.',
      cause: error,
    });
  }
}

const identifierPattern = /^[a-z][a-z0-9_]{0,62}$/;

/** Validates a lower-case SQL identifier we create ourselves (tenant schemas, table names we derive). */
export function validateIdentifier(name: string, what = 'identifier'): string {
  if (!identifierPattern.test(name)) {
    throw new LcsError('LCS_INVALID_IDENTIFIER', `Invalid ${what} "${name.slice(0, 80)}": it must match ^[a-z][a-z0-9_]{0,62}$.`, {
      hint: 'Use lower-case letters, digits and underscores, starting with a letter, at most 63 characters.',
    });
  }
  return name;
}

/** Quotes any identifier for SQL (doubling embedded quotes), for names that come from a source schema. */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.length > 63 || name.includes('\u0000')) {
    throw new LcsError('LCS_INVALID_IDENTIFIER', `Cannot use "${name.slice(0, 80)}" as a SQL identifier (empty, too long or NUL).`);
  }
  return `"${name.replace(/"/g, '""')}"`;
}
