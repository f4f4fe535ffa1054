import type pg from 'pg';
import { LcsError, describeError } from '../core/errors.js';

/**
 * How the library reaches its SQL functions: the same functions serve a direct Postgres connection and
 * Supabase's REST RPC (supabase-js), so every write is one atomic call either way.
 */
export interface RpcTransport {
  readonly kind: 'postgres' | 'supabase-rpc';
  call<T = unknown>(fn: string, args: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

const functionName = /^[a-z_][a-z0-9_]{0,62}$/;

/** Calls `public.<fn>(name => $1, …)` over a pg pool. JSON-typed arguments are passed as JSON text. */
export function createPostgresTransport(pool: pg.Pool, options: { ownsPool?: boolean } = {}): RpcTransport {
  return {
    kind: 'postgres',
    async call<T>(fn: string, args: Record<string, unknown>): Promise<T> {
      if (!functionName.test(fn)) throw new LcsError('LCS_RPC_NAME', `Invalid function name "${fn}"`);
      const names = Object.keys(args);
      for (const name of names) if (!functionName.test(name)) throw new LcsError('LCS_RPC_NAME', `Invalid argument name "${name}"`);
      const list = names.map((name, index) => `${name} => $${index + 1}`).join(', ');
      const values = names.map((name) => toParameter(args[name]));
      try {
        const { rows } = await pool.query(`select public.${fn}(${list}) as result`, values);
        return rows[0]?.result as T;
      } catch (error) {
        throw new LcsError('LCS_RPC_FAILED', `Postgres function ${fn} failed: ${describeError(error)}`, { cause: error });
      }
    },
    async close() {
      if (options.ownsPool) await pool.end();
    },
  };
}

function toParameter(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'object' && !(value instanceof Date)) return JSON.stringify(value);
  return value;
}

/** The part of a supabase-js client the transport needs. */
export interface SupabaseRpcClient {
  rpc(fn: string, args: Record<string, unknown>): PromiseLike<{ data: unknown; error: { message: string; code?: string } | null }>;
}

export function createSupabaseTransport(client: SupabaseRpcClient, options: { timeoutMs?: number } = {}): RpcTransport {
  const timeoutMs = options.timeoutMs ?? 15_000;
  return {
    kind: 'supabase-rpc',
    async call<T>(fn: string, args: Record<string, unknown>): Promise<T> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new LcsError('LCS_RPC_TIMEOUT', `Supabase RPC ${fn} took longer than ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        const { data, error } = await Promise.race([client.rpc(fn, args), timeout]);
        if (error) {
          throw new LcsError('LCS_RPC_FAILED', `Supabase RPC ${fn} failed: ${error.message}${error.code ? ` (${error.code})` : ''}`, {
            hint: error.code === '42501' || /permission denied/i.test(error.message)
              ? 'Use the service_role key (SUPABASE_SERVICE_ROLE_KEY), not the anon key.'
              : error.code === 'PGRST202'
                ? 'Apply the migrations: `supabase db push` or `npx librechat-supabase migrate`.'
                : undefined,
          });
        }
        return data as T;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {},
  };
}
