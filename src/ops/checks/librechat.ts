import { MongoClient } from 'mongodb';
import { describeEndpoint, describeNetworkError, fail, ok, skip, warn, withTimeout, type CheckResult } from './check.js';

/** Collections every LibreChat with agents and prompts has; without `users` this is not LibreChat's database. */
const CORE_COLLECTIONS = ['users', 'agents', 'promptgroups', 'prompts'];
/** Collections of v0.8.x sharing (ACL and groups); absent in v0.7.x. */
const ACL_COLLECTIONS = ['aclentries', 'accessroles', 'groups'];

/** Connects to LibreChat's MongoDB with a short server-selection timeout and looks for LibreChat's collections. */
export async function checkLibreChatMongo(uri: string | undefined, timeoutMs: number): Promise<CheckResult> {
  const id = 'librechat-mongo';
  const title = 'LibreChat MongoDB';
  if (!uri) return skip(id, title, 'LIBRECHAT_MONGO_URI not set (needed by library reconcile/pull and the mongo provisioner)');
  const target = describeMongoTarget(uri);
  if (!/^mongodb(?:\+srv)?:\/\/[^/]+\/[^/?]+/.test(uri)) {
    return fail(id, title, `${target}: the URI names no database (the driver would use "test")`, 'end LIBRECHAT_MONGO_URI with LibreChat\'s database name, the same as its MONGO_URI (e.g. mongodb://mongodb:27017/LibreChat)');
  }
  let client: MongoClient;
  try {
    client = new MongoClient(uri, {
      serverSelectionTimeoutMS: timeoutMs,
      connectTimeoutMS: timeoutMs,
      socketTimeoutMS: timeoutMs,
      appName: 'librechat-supabase doctor',
    });
  } catch (error) {
    return fail(id, title, `LIBRECHAT_MONGO_URI cannot be parsed: ${describeNetworkError(error)}`, 'use the same value as LibreChat\'s MONGO_URI, e.g. mongodb://mongodb:27017/LibreChat');
  }
  try {
    const db = client.db();
    const collections = await withTimeout(db.listCollections({}, { nameOnly: true }).toArray(), timeoutMs + 500);
    const names = new Set(collections.map((collection) => collection.name));
    const missingCore = CORE_COLLECTIONS.filter((name) => !names.has(name));
    if (missingCore.includes('users')) {
      return fail(
        id,
        title,
        `${target} is reachable but database "${db.databaseName}" has no users collection${names.size === 0 ? ' (it is empty)' : ''}`,
        "use the database LibreChat uses (the path of its MONGO_URI, e.g. /LibreChat), and start LibreChat once so it creates its collections",
      );
    }
    const missingAcl = ACL_COLLECTIONS.filter((name) => !names.has(name));
    const found = [...CORE_COLLECTIONS, ...ACL_COLLECTIONS].filter((name) => names.has(name));
    if (missingCore.length > 0 || missingAcl.length > 0) {
      const missing = [...missingCore, ...missingAcl];
      return warn(
        id,
        title,
        `${target} database "${db.databaseName}": ${found.join(', ')} present; ${missing.join(', ')} missing`,
        missingAcl.length > 0 && missingCore.length === 0
          ? 'without aclentries/groups this is LibreChat v0.7.x (sharing through projectIds) or v0.8 has not started since the upgrade; start LibreChat once'
          : 'start LibreChat once so it creates its collections (they appear with its indexes at startup)',
      );
    }
    return ok(id, title, `${target} database "${db.databaseName}": ${found.join(', ')} present`);
  } catch (error) {
    const code = (error as { code?: unknown })?.code;
    if (code === 18 || /auth/i.test((error as Error)?.message ?? '')) {
      return fail(id, title, `${target}: authentication failed`, 'correct user and password in LIBRECHAT_MONGO_URI (add ?authSource=admin when the user lives in the admin database)');
    }
    return fail(id, title, `${target} not reachable: ${describeNetworkError(error)}`, 'start MongoDB or correct host and port in LIBRECHAT_MONGO_URI (use the same value as LibreChat\'s MONGO_URI; inside docker compose the host is the service name, e.g. mongodb:27017)');
  } finally {
    await withTimeout(client.close(), timeoutMs).catch(() => undefined);
  }
}

export interface LibreChatApiCheck {
  result: CheckResult;
  /** LibreChat's clock from its Date header minus this host's clock, in ms (the header has 1 s resolution). */
  clockOffsetMs?: number;
}

/** `GET /health` of LibreChat (200 `OK` in every v0.7/v0.8 release). */
export async function checkLibreChatApi(url: string | undefined, timeoutMs: number): Promise<LibreChatApiCheck> {
  const id = 'librechat-api';
  const title = 'LibreChat API';
  if (!url) return { result: skip(id, title, 'LIBRECHAT_API_URL not set (needed by the http provisioner)') };
  const base = url.replace(/\/+$/, '');
  const healthUrl = `${base}/health`;
  const before = Date.now();
  let response: Response;
  try {
    response = await fetch(healthUrl, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  } catch (error) {
    return {
      result: fail(id, title, `${describeEndpoint(healthUrl)} not reachable: ${describeNetworkError(error)}`, 'start LibreChat or correct LIBRECHAT_API_URL (e.g. http://librechat:3080 inside docker compose, http://localhost:3080 on the host)'),
    };
  }
  const after = Date.now();
  await response.text().catch(() => '');
  const date = Date.parse(response.headers.get('date') ?? '');
  // The Date header is truncated to the second: its true time lies within the following second.
  const clockOffsetMs = Number.isNaN(date) ? undefined : date + 500 - (before + after) / 2;
  if (response.status === 200) return { result: ok(id, title, `${describeEndpoint(healthUrl)} answered 200`), clockOffsetMs };
  const fix = /\/api$/.test(base)
    ? 'LIBRECHAT_API_URL is the server\'s base URL: drop the trailing /api (e.g. http://localhost:3080)'
    : 'check that LIBRECHAT_API_URL points at LibreChat itself (not a proxy path) and read LibreChat\'s logs';
  return { result: fail(id, title, `${describeEndpoint(healthUrl)} answered ${response.status}`, fix), clockOffsetMs };
}

function describeMongoTarget(uri: string): string {
  // mongodb+srv and multi-host URIs are not WHATWG-parsable in general; show hosts only, never credentials.
  const hosts = /^mongodb(?:\+srv)?:\/\/(?:[^@/]*@)?([^/?]+)/.exec(uri)?.[1];
  return hosts ?? '(unparsable URI)';
}
