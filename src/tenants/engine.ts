import type pg from 'pg';
import { LcsError, describeError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { parseTenantConfig, type TenantConfig } from './config.js';
import { encodeRows, selectRows, type EncodedRows } from './copy.js';
import { keyHash, keyHashSum, sourceHash } from './hashes.js';
import {
  addJobProgress,
  clearFailedRows,
  closeAbandonedJobs,
  countFailedRows,
  finishJob,
  loadCheckpoints,
  logConflict,
  recordFailedRows,
  saveCheckpoint,
  startJob,
  type Checkpoint,
  type JobProgress,
  type SourceDigestRecord,
} from './ledger.js';
import { validateTenantName } from './names.js';
import { holdsTenantClaim, recordSyncOutcome, releaseTenantClaim, requireTenant, tryClaimTenant, type TenantRecord } from './registry.js';
import { openTenantSource } from './sources/index.js';
import type { CursorUnit, KeyValues, RowDigests, SourceRow, SourceTable, SyncSource } from './sources/types.js';
import {
  deleteRows,
  detachRows,
  dropStage,
  ensureStage,
  findConflicts,
  inspectDeletes,
  keepTargetRows,
  keysInRange,
  mergeStage,
  prepareSession,
  prepareTable,
  stageRows,
  summarizeRange,
  TableIncompatibleError,
  type ConflictStrategy,
  type KeyRange,
  type TablePlan,
  SYNC_WRITER_SETTING,
  compareKeySets,
  copyIntoTarget,
  targetIsEmpty,
  targetRowStates,
  targetRowStatesForKeys,
  summarizeTable,
  targetKeyHashes,
  targetKeysWithHashes,
  targetKeySummary,
} from './target.js';

/**
 * The tenant sync engine: source → engine → Postgres target, one tenant at a time.
 *
 * Why it cannot lose or duplicate a row:
 * - A run holds the tenant's advisory lock on ONE connection and writes every page on that same connection, so a
 *   job that lost its connection (and with it the lock) cannot write anything more: the lock is the fence.
 * - Each table is read in key order, page by page. A page is staged (COPY), merged (one upsert that skips equal
 *   rows), and the table's checkpoint moves to the page's last key in the SAME transaction. Killed at any instant,
 *   the next run resumes after the last committed page; re-reading rows is harmless, skipping is impossible.
 * - Incremental passes read rows whose cursor is >= (checkpoint − lookback): rows sharing a timestamp, or changed
 *   during a run, are read again rather than skipped. The checkpoint becomes the largest cursor seen when the pass
 *   STARTED, so anything that changes while it runs is still ahead of it.
 * - Tables without a cursor, and every table periodically, are compared in full: page by page, the target's key
 *   range is compared with the source page (only differing rows are written, rows gone from the source deleted).
 *   Once verified, a table without a cursor is compared by row digests: only row-id ranges whose stored bytes changed
 *   are read again (see compareChangedRanges for why that is exact).
 * - After an incremental pass, key sets are compared (counts and key-hash sums for the whole table, then the exact
 *   differing key hashes, or one bulk anti-join when very many differ): rows gone from the source are deleted (or
 *   soft-deleted) and rows the target lacks are fetched again.
 * - A row that cannot be written is recorded in failed_rows and freezes its table's checkpoint, so it is retried.
 */

export interface SyncOptions {
  pool: pg.Pool;
  tenant: string;
  /** Compare every row of every table (instead of only rows whose cursor moved). */
  full?: boolean;
  triggeredBy?: string;
  nodeId?: string;
  logger?: Logger;
  onProgress?: (event: SyncProgress) => void;
  /** Milliseconds to wait for the tenant's claim when another sync holds it (default 0: fail at once). */
  waitForClaimMs?: number;
  /** Overrides of the tenant's stored config (tests, benchmarks). */
  configOverrides?: Partial<TenantConfig>;
  /** Stops the run after the current page (the job ends `failed`, resumable). */
  signal?: AbortSignal;
  /** Called once the claim is held and the job row exists (the scheduler marks queued requests as picked). */
  onStarted?: (job: { jobId: string; tenant: string }) => Promise<void> | void;
}

export type SyncProgress =
  | { type: 'start'; jobId: string; tables: string[] }
  | { type: 'table-start'; table: string; pass: 'full' | 'incremental' | 'keys-only' }
  | { type: 'page'; table: string; rows: number; written: number; total: number }
  | { type: 'table-done'; table: string; result: TableResult };

export interface TableResult {
  table: string;
  status: 'completed' | 'failed' | 'partial' | 'skipped';
  pass: 'full' | 'incremental' | null;
  rowsRead: number;
  inserted: number;
  updated: number;
  deleted: number;
  failed: number;
  conflicts: number;
  addedColumns: string[];
  excludedColumns: string[];
  error: string | null;
  /** Seconds spent per phase (prepare, pass, keys, total): where a run's time went (also in the job ledger). */
  seconds: Record<string, number>;
}

export interface SyncResult {
  jobId: string;
  tenant: string;
  status: 'completed' | 'failed' | 'partial';
  syncType: 'full' | 'incremental';
  tables: TableResult[];
  rowsSynced: number;
  rowsFailed: number;
  rowsDeleted: number;
  conflicts: number;
  bytes: number;
  durationSeconds: number;
  error: string | null;
}

const STOPPED = Symbol('stopped');

/** Above this many differences between source and target key counts, key sets are compared in one bulk pass. */
const BULK_COMPARE_DIFFERENCES = 16;

/** Above this many differing key hashes, key sets are compared in one bulk pass instead. */
const DETAIL_KEYS_MAX = 200_000;

/** Up to this many keys, both sides' key hashes are listed and compared exactly (8 bytes per key per side). */
const HASH_LIST_MAX = 4_000_000;

/** What comparing a table without a cursor by its row digests did (see compareChangedRanges). */
interface DigestRun {
  /** The table is up to date; no full pass needed. */
  done: boolean;
  /** The stored digests still apply (nothing to record). */
  recorded: boolean;
  /** Digests computed from this run's snapshot, reusable when recording. */
  digests: RowDigests | null;
}

/** Row-id ranges whose digest differs between the stored record and the current digests (or exist on one side). */
function changedRanges(stored: SourceDigestRecord, current: RowDigests): Array<{ from: bigint; through: bigint }> {
  const storedStarts = Buffer.from(stored.starts, 'base64');
  const storedDigests = Buffer.from(stored.digests, 'base64');
  const before = new Map<bigint, Buffer>();
  for (let i = 0; i * 8 < storedStarts.length; i++) before.set(storedStarts.readBigInt64BE(i * 8), storedDigests.subarray(i * 16, i * 16 + 16));
  const width = 1n << BigInt(current.shift);
  const last = 2n ** 63n - 1n;
  const changed = new Set<bigint>();
  current.starts.forEach((start, i) => {
    const digest = current.digests.subarray(i * 16, i * 16 + 16);
    if (!before.get(start)?.equals(digest)) changed.add(start);
    before.delete(start);
  });
  // Ranges that held rows before and hold none now: their rows were deleted (found by the key comparison), nothing
  // to read. Only ranges with rows now are read.
  return [...changed].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((from) => ({ from, through: from + width - 1n > last ? last : from + width - 1n }));
}

/** A page of source rows encoded for COPY (key hash and source hash appended to each line) with each source hash. */
interface PreparedPage {
  rows: SourceRow[];
  encoded: EncodedRows;
  hashes: string[];
}

const EMPTY_PAGE: PreparedPage = preparePage([]);

function preparePage(rows: SourceRow[]): PreparedPage {
  const hashes = new Array<string>(rows.length);
  // Each row is encoded once, into bytes; its source hash is the md5 of those bytes (the COPY line's values).
  const encoded = encodeRows(
    rows.map((row) => (row.error ? null : row.values)),
    (index, bytes) => {
      hashes[index] = sourceHash(bytes);
      return `\t${keyHash(rows[index]!.key)}\t${hashes[index]}`;
    },
  );
  return { rows, encoded, hashes };
}

/** How a pass writes its pages: full compare or not, and straight into the table (only inserts) or merged. */
interface WriteMode {
  full: boolean;
  direct: boolean;
  /**
   * In a full compare from the first key: the key up to which source and target keys were compared (null: from the
   * start). Absent when this pass does not compare keys (incremental, or resumed mid-table).
   */
  comparedThrough?: KeyValues | null;
}

/** Runs one sync of a tenant. Throws LCS_SYNC_RUNNING when another sync holds the tenant's claim. */
export async function syncTenant(options: SyncOptions): Promise<SyncResult> {
  const tenantName = validateTenantName(options.tenant);
  const logger = (options.logger ?? silentLogger).child({ tenant: tenantName });
  const client = await options.pool.connect();
  let claimed = false;
  let broken = false;
  try {
    await prepareSession(client);
    claimed = await claimWithin(client, tenantName, options.waitForClaimMs ?? 0);
    if (!claimed) {
      const running = await client.query<{ job_id: string; node_id: string | null; started_at: Date }>(
        `select job_id, node_id, started_at from sync_metadata.sync_jobs where client_name = $1 and status = 'running' order by started_at desc limit 1`,
        [tenantName],
      );
      const job = running.rows[0];
      throw new LcsError(
        'LCS_SYNC_RUNNING',
        `A sync of "${tenantName}" is already running${job ? ` (job ${job.job_id} on node ${job.node_id ?? 'unknown'}, started ${job.started_at.toISOString()})` : ''}.`,
        { hint: 'Wait for it to finish (tenants jobs shows it), or pass --wait SECONDS to queue behind it.' },
      );
    }
    const tenant = await requireTenant(client, tenantName);
    const config = parseTenantConfig({ ...tenant.config, ...options.configOverrides });
    const run = new SyncRun(client, tenant, config, options, logger);
    try {
      return await run.execute();
    } catch (error) {
      broken = run.connectionBroken;
      throw error;
    }
  } finally {
    if (claimed && !broken) await releaseTenantClaim(client, tenantName).catch(() => undefined);
    // The connection goes back to a shared pool: undo this run's session settings (prepareSession).
    if (!broken) broken = !(await client.query('reset all').then(() => true, () => false));
    // A connection that failed mid-run is destroyed rather than reused: its session state is unknown.
    client.release(broken ? true : undefined);
  }
}

async function claimWithin(client: pg.ClientBase, tenant: string, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await tryClaimTenant(client, tenant)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(250, Math.max(10, deadline - Date.now()))));
  }
}

class SyncRun {
  connectionBroken = false;
  private jobId = '';
  private readonly syncType: 'full' | 'incremental';
  private readonly progress: JobProgress = { rowsSynced: 0, rowsFailed: 0, rowsDeleted: 0, conflicts: 0, bytes: 0 };
  /** Tables with recorded failed rows (before or during this run): their written rows clear old failures. */
  private readonly tablesWithFailures = new Set<string>();
  /** Keys (JSON) of rows that failed in this run, per table: not fetched again by the key comparison. */
  private readonly failedThisRun = new Map<string, Set<string>>();

  constructor(
    private readonly client: pg.PoolClient,
    private readonly tenant: TenantRecord,
    private readonly config: TenantConfig,
    private readonly options: SyncOptions,
    private readonly logger: Logger,
  ) {
    this.syncType = options.full ? 'full' : 'incremental';
  }

  async execute(): Promise<SyncResult> {
    const name = this.tenant.client_name;
    const abandoned = await closeAbandonedJobs(this.client, name);
    if (abandoned > 0) this.logger.warn(`closed ${abandoned} abandoned job(s) of a node that stopped mid-sync`);
    const job = await startJob(this.client, {
      tenant: name,
      syncType: this.syncType,
      triggeredBy: this.options.triggeredBy ?? 'manual',
      nodeId: this.options.nodeId ?? 'cli',
    });
    this.jobId = job.jobId;
    const started = Date.now();
    try {
      await this.options.onStarted?.({ jobId: job.jobId, tenant: name });
    } catch (error) {
      this.logger.warn('onStarted hook failed', { error: describeError(error) });
    }
    const results: TableResult[] = [];
    let source: SyncSource | null = null;
    let fatal: string | null = null;
    try {
      source = await openTenantSource(this.tenant, this.config);
      const tables = (await source.listTables()).filter((t) => this.config.tables[t.name]?.enabled !== false);
      this.emit({ type: 'start', jobId: this.jobId, tables: tables.map((t) => t.name) });
      const checkpoints = await loadCheckpoints(this.client, name);
      await this.planKeyComparisons(source, tables, checkpoints);
      for (const [index, table] of tables.entries()) {
        if (this.options.signal?.aborted) throw STOPPED;
        const result = await this.syncTable(source, table, checkpoints.get(table.name) ?? null, index);
        results.push(result);
        this.emit({ type: 'table-done', table: table.name, result });
      }
    } catch (error) {
      if (error === STOPPED) fatal = 'stopped before finishing; the next run resumes after the last committed page';
      else {
        fatal = describeError(error);
        if (isConnectionError(error)) this.connectionBroken = true;
      }
      this.logger.error('tenant sync failed', { error: fatal });
    } finally {
      await source?.close().catch(() => undefined);
    }

    const failedTables = results.filter((r) => r.status === 'failed' || r.status === 'partial');
    const status: SyncResult['status'] = fatal ? 'failed' : failedTables.length === 0 ? 'completed' : failedTables.length === results.length ? 'failed' : 'partial';
    const error = fatal ?? (failedTables.length ? failedTables.map((r) => `${r.table}: ${r.error ?? `${r.failed} row(s) failed`}`).join('; ') : null);
    if (!this.connectionBroken) {
      await finishJob(this.client, this.jobId, { status, error, tables: Object.fromEntries(results.map((r) => [r.table, tableLedgerEntry(r)])) });
      await recordSyncOutcome(this.client, this.tenant.client_name, status);
    }
    return {
      jobId: this.jobId,
      tenant: this.tenant.client_name,
      status,
      syncType: this.syncType,
      tables: results,
      ...this.progress,
      durationSeconds: (Date.now() - started) / 1000,
      error,
    };
  }

  // ── one table ─────────────────────────────────────────────────────────────────────────────────────────────────

  private async syncTable(source: SyncSource, table: SourceTable, checkpoint: Checkpoint | null, index: number): Promise<TableResult> {
    const result: TableResult = {
      table: table.name,
      status: 'completed',
      pass: null,
      rowsRead: 0,
      inserted: 0,
      updated: 0,
      deleted: 0,
      failed: 0,
      conflicts: 0,
      addedColumns: [],
      excludedColumns: table.excluded.map((e) => e.column),
      error: null,
      seconds: {},
    };
    const clock = phaseClock(result.seconds);
    const name = this.tenant.client_name;
    if (table.skipReason) return { ...result, status: 'skipped', error: table.skipReason };
    if (table.problem) {
      await saveCheckpoint(this.client, name, table.name, { status: 'error', error: table.problem });
      return { ...result, status: 'failed', error: table.problem };
    }
    try {
      const plan = await this.inTransaction(async () => {
        const prepared = await prepareTable(this.client, name, table, index);
        const fields: Partial<Checkpoint> = { cursor_column: table.cursor?.column ?? null };
        // New columns must be filled for rows already synced: start a full pass of this table.
        if (prepared.addedColumns.length > 0 && !prepared.created) Object.assign(fields, { pass: null, pass_last_key: null, cursor_value: null });
        await saveCheckpoint(this.client, name, table.name, fields);
        if (fields.cursor_value === null && checkpoint) Object.assign(checkpoint, fields);
        return prepared;
      });
      clock('prepare');
      result.addedColumns = plan.created ? [] : plan.addedColumns;
      if ((await countFailedRows(this.client, name, table.name)) > 0) this.tablesWithFailures.add(table.name);
      const state: Checkpoint = checkpoint ?? emptyCheckpoint(table.name);
      // A table without a cursor whose rows were verified before: compare only the row ranges that changed since.
      const digestRun: DigestRun = table.cursor === null ? await this.compareChangedRanges(source, plan, state, result) : { done: false, recorded: false, digests: null };
      let verified = digestRun.done;
      if (!digestRun.done) {
        // Rows are about to be written: stored digests no longer describe a verified target until recorded again.
        if (state.source_digest) await this.forgetDigests(table.name, state);
        const pass = await this.copyPass(source, plan, state, result, false);
        result.pass = pass.type;
        clock('pass');
        // Key sets need no separate comparison after a full pass that compared them page by page, nor after a first
        // load into an empty table from one consistent snapshot.
        const fresh = (pass.directThroughout && pass.completed && source.consistentSnapshot) || (pass.keysCompared && !pass.resumed);
        // A pass resumed from an earlier run did not see what changed, meanwhile, behind its resume point: one more
        // pass (incremental from the resumed pass's start, or full without a cursor) brings the table up to date.
        let completed = pass.completed;
        if (pass.resumed && pass.completed) completed = (await this.copyPass(source, plan, state, result, true)).completed;
        clock('pass');
        if (!fresh) await this.reconcileKeys(source, plan, result);
        clock('keys');
        verified = completed && pass.type === 'full';
      }
      await dropStage(this.client, plan);
      const failuresAfter = await countFailedRows(this.client, name, table.name);
      // Every row of a table without a cursor was just compared (or its changed ranges were): remember the digests.
      if (table.cursor === null && verified && failuresAfter === 0 && !digestRun.recorded) await this.recordDigests(source, plan, state, digestRun.digests);
      clock('digests');
      if (failuresAfter > 0) {
        result.status = 'partial';
        result.error = `${failuresAfter} row(s) could not be written (see failed rows); they are retried on the next run`;
        await saveCheckpoint(this.client, name, table.name, { status: 'blocked', error: result.error, last_synced_at: new Date() });
      } else {
        await saveCheckpoint(this.client, name, table.name, { status: 'ok', error: null, last_synced_at: new Date() });
      }
    } catch (error) {
      if (error === STOPPED) throw error;
      if (isConnectionError(error)) throw error;
      if (!(await this.connectionAlive())) {
        this.connectionBroken = true;
        throw error;
      }
      result.status = 'failed';
      result.error = describeError(error);
      this.logger.warn(`table ${table.name} failed`, { error: result.error });
      await saveCheckpoint(this.client, name, table.name, { status: 'error', error: result.error.slice(0, 2000) }).catch(() => undefined);
    }
    clock('finish');
    result.seconds.total = Object.values(result.seconds).reduce((a, b) => a + b, 0);
    for (const phase of Object.keys(result.seconds)) result.seconds[phase] = Math.round(result.seconds[phase]! * 1000) / 1000;
    this.logger.debug(`table ${table.name} done`, { seconds: result.seconds, pass: result.pass });
    return result;
  }

  /**
   * Reads the table in key order, page by page, resuming an interrupted pass. Full passes read every row;
   * incremental passes only rows whose cursor is >= checkpoint − lookback.
   */
  private async copyPass(
    source: SyncSource,
    plan: TablePlan,
    checkpoint: Checkpoint,
    result: TableResult,
    followUp: boolean,
  ): Promise<{ type: 'full' | 'incremental'; resumed: boolean; completed: boolean; directThroughout: boolean; keysCompared: boolean }> {
    const name = this.tenant.client_name;
    const table = plan.source;
    const cursor = table.cursor;
    let type: 'full' | 'incremental';
    let filter: string | null;
    let startCursor: string | null;
    let afterKey: KeyValues | null;

    const resumable = !followUp && checkpoint.pass !== null && !(this.options.full && checkpoint.pass === 'incremental');
    if (resumable && checkpoint.pass) {
      type = checkpoint.pass;
      filter = checkpoint.pass_filter_cursor;
      startCursor = checkpoint.pass_start_cursor;
      afterKey = checkpoint.pass_last_key;
    } else {
      const fullDue =
        this.config.full_compare_hours > 0 &&
        (!checkpoint.last_full_compare_at || Date.now() - checkpoint.last_full_compare_at.getTime() > this.config.full_compare_hours * 3_600_000);
      const wantFull = followUp ? false : this.options.full || fullDue;
      type = wantFull || !cursor || checkpoint.cursor_value === null ? 'full' : 'incremental';
      filter = type === 'incremental' && cursor ? cursorMinus(checkpoint.cursor_value!, cursor.unit, this.config.lookback_seconds) : null;
      startCursor = cursor ? capCursor(await source.maxCursor(table), cursor.unit) : null;
      afterKey = null;
      await saveCheckpoint(this.client, name, table.name, {
        pass: type,
        pass_filter_cursor: filter,
        pass_start_cursor: startCursor,
        pass_last_key: null,
        pass_blocked: false,
      });
    }
    this.emit({ type: 'table-start', table: table.name, pass: type });
    // A fresh full pass into an empty table only inserts: pages go straight into the table (no staging, no merge).
    const mode: WriteMode = { full: type === 'full', direct: type === 'full' && !resumable && (await targetIsEmpty(this.client, plan)) };
    if (type === 'full' && !resumable) mode.comparedThrough = null;

    let blocked = false;
    let total = 0;
    const readPage = (after: KeyValues | null) =>
      source.readRows(table, { afterKey: after, cursorFrom: filter, limit: this.config.page_size, maxBytes: this.config.page_bytes }).then(preparePage);
    let page = await readPage(afterKey);
    while (page.rows.length > 0) {
      if (this.options.signal?.aborted) throw STOPPED;
      const rows = page.rows;
      const current = page;
      result.rowsRead += rows.length;
      const last = rows[rows.length - 1]!;
      const more = !(rows.length < this.config.page_size && sumBytes(rows) < this.config.page_bytes);
      // The next page is read (and encoded) while Postgres works on this one: see applyRows' `whilePostgresWorks`.
      let next: Promise<PreparedPage> | null = null;
      const prefetch = () => {
        if (!more || next) return;
        next = readPage(last.key);
        // Awaited below; until then a failure must not count as an unhandled rejection.
        next.catch(() => undefined);
      };
      const firstBadIndex = await this.inTransaction(async () => {
        const outcome = await this.applyRows(plan, current, mode, result, prefetch);
        const firstBad = outcome.failedIndexes.length ? Math.min(...outcome.failedIndexes) : -1;
        // The checkpoint stops before the first failed row so that row is read again next run.
        const lastGood = firstBad === -1 ? last : firstBad > 0 ? rows[firstBad - 1]! : null;
        if (!blocked) {
          const fields: Partial<Checkpoint> = { pass_blocked: firstBad !== -1 };
          if (lastGood) fields.pass_last_key = lastGood.key;
          await saveCheckpoint(this.client, name, table.name, fields);
        }
        await this.fence();
        return firstBad;
      });
      if (firstBadIndex !== -1) blocked = true;
      total += rows.length;
      this.emit({ type: 'page', table: table.name, rows: rows.length, written: result.inserted + result.updated, total });
      prefetch();
      page = more ? await next! : EMPTY_PAGE;
    }

    // Past the source's last key, any synced target row is gone from the source.
    if (mode.comparedThrough !== undefined && !mode.direct) {
      const after = mode.comparedThrough;
      await this.inTransaction(async () => {
        const states = await targetRowStates(this.client, plan, { after, through: null });
        await this.removeGone(plan, [...states.values()].filter((s) => !s.deleted && !s.detached).map((s) => s.key), result);
        await this.fence();
      });
    }
    const keysCompared = mode.comparedThrough !== undefined && !blocked;

    if (!blocked) {
      // The pass is complete: everything with a cursor below its start value is in the target.
      const fields: Partial<Checkpoint> = { pass: null, pass_filter_cursor: null, pass_start_cursor: null, pass_last_key: null, pass_blocked: false };
      if (cursor) fields.cursor_value = startCursor ?? checkpoint.cursor_value ?? null;
      if (type === 'full') fields.last_full_compare_at = new Date();
      await saveCheckpoint(this.client, name, table.name, fields);
      Object.assign(checkpoint, fields);
    }
    return { type, resumed: resumable, completed: !blocked, directThroughout: mode.direct, keysCompared };
  }

  /**
   * Writes rows through the staging table; returns indexes of rows that failed (recorded in failed_rows).
   * Must run inside a transaction. A page that Postgres rejects is retried row by row to isolate the bad rows.
   */
  private async applyRows(
    plan: TablePlan,
    page: PreparedPage,
    mode: WriteMode,
    result: TableResult,
    whilePostgresWorks?: () => void,
  ): Promise<{ failedIndexes: number[] }> {
    const name = this.tenant.client_name;
    const { rows, hashes } = page;
    const failures: Array<{ index: number; error: string }> = [];
    let good: number[] = [];
    rows.forEach((row, index) => (row.error ? failures.push({ index, error: row.error }) : good.push(index)));
    // A full compare covers the key range from the previous page's last key to this page's last key: rows that
    // differ are written (most pages: none at all) and target rows the source no longer has are deleted.
    if (mode.full && !mode.direct && mode.comparedThrough !== undefined && rows.length > 0) {
      const through = rows[rows.length - 1]!.key;
      const states = await targetRowStates(this.client, plan, { after: mode.comparedThrough, through });
      const present = new Set(rows.map((row) => JSON.stringify(row.key)));
      const gone = [...states].filter(([key, state]) => !present.has(key) && !state.deleted && !state.detached).map(([, state]) => state.key);
      await this.removeGone(plan, gone, result);
      good = good.filter((i) => {
        const state = states.get(JSON.stringify(rows[i]!.key));
        return !state || state.sourceHash !== hashes[i] || state.changedInTarget || state.deleted || state.detached;
      });
      mode.comparedThrough = through;
    }
    // Incremental pages re-read rows (equal timestamps, the lookback): rows whose source hash is already in the
    // target are skipped before staging.
    if (!mode.full && !mode.direct && good.length > 0) {
      const states = await targetRowStatesForKeys(this.client, plan, good.map((i) => rows[i]!.key));
      good = good.filter((i) => {
        const state = states.get(JSON.stringify(rows[i]!.key));
        return !state || state.sourceHash !== hashes[i] || state.deleted || state.detached;
      });
    }
    if (good.length === 0) whilePostgresWorks?.();

    const delta: JobProgress = { rowsSynced: 0, rowsFailed: 0, rowsDeleted: 0, conflicts: 0, bytes: 0 };
    const applyBatch = async (indexes: number[]) => {
      // Once the page's rows are on their way to Postgres, the caller's next page is prepared meanwhile.
      const onSent = whilePostgresWorks;
      if (mode.direct) {
        const inserted = await copyIntoTarget(this.client, plan, selectRows(page.encoded, indexes), onSent);
        return { conflicts: 0, merged: { inserted, updated: 0 } };
      }
      await this.client.query(`delete from ${plan.stage}`);
      await stageRows(this.client, plan, selectRows(page.encoded, indexes), onSent);
      const conflicts = await this.resolveConflicts(plan, mode.full);
      const merged = await mergeStage(this.client, plan, mode.full);
      return { conflicts, merged };
    };

    // Undo the page's direct COPY and continue through the staging table (created outside any savepoint).
    const leaveDirect = async () => {
      await this.client.query('rollback to savepoint lcs_page');
      await this.client.query('release savepoint lcs_page');
      mode.direct = false;
      await ensureStage(this.client, plan);
    };

    const written: number[] = [];
    if (good.length > 0) {
      // Outside the savepoint: a rollback to it must not take the staging table away.
      if (!mode.direct) await ensureStage(this.client, plan);
      await this.client.query('savepoint lcs_page');
      try {
        let outcome;
        try {
          outcome = await applyBatch(good);
        } catch (error) {
          // The direct path met a key that exists after all: from now on this pass goes through the merge.
          if (!mode.direct || (error as { code?: string }).code !== '23505') throw error;
          await leaveDirect();
          await this.client.query('savepoint lcs_page');
          outcome = await applyBatch(good);
        }
        await this.client.query('release savepoint lcs_page');
        tally(outcome);
        written.push(...good);
      } catch (error) {
        if (!isRowError(error)) throw error;
        if (mode.direct) await leaveDirect();
        else await this.client.query('rollback to savepoint lcs_page');
        for (const index of good) {
          await this.client.query('savepoint lcs_row');
          try {
            const outcome = await applyBatch([index]);
            await this.client.query('release savepoint lcs_row');
            tally(outcome);
            written.push(index);
          } catch (rowError) {
            if (!isRowError(rowError)) throw rowError;
            await this.client.query('rollback to savepoint lcs_row');
            failures.push({ index, error: describeError(rowError) });
          }
        }
      }
    }

    function tally(outcome: { conflicts: number; merged: { inserted: number; updated: number } }): void {
      result.inserted += outcome.merged.inserted;
      result.updated += outcome.merged.updated;
      result.conflicts += outcome.conflicts;
      delta.rowsSynced += outcome.merged.inserted + outcome.merged.updated;
      delta.conflicts += outcome.conflicts;
    }

    // Pages loaded directly into the empty table hold exactly the source's keys: the comparison moves past them.
    if (mode.comparedThrough !== undefined && rows.length > 0) mode.comparedThrough = rows[rows.length - 1]!.key;

    if (failures.length > 0) {
      this.tablesWithFailures.add(plan.table);
      const failedKeys = this.failedThisRun.get(plan.table) ?? new Set<string>();
      for (const failure of failures) failedKeys.add(JSON.stringify(rows[failure.index]!.key));
      this.failedThisRun.set(plan.table, failedKeys);
      await recordFailedRows(this.client, name, plan.table, this.jobId, failures.map((f) => ({ key: rows[f.index]!.key, error: f.error })));
      result.failed += failures.length;
      delta.rowsFailed += failures.length;
      for (const failure of failures) this.logger.warn(`row of ${plan.table} failed`, { key: rows[failure.index]!.key, error: failure.error });
    }
    if (written.length > 0 && this.tablesWithFailures.has(plan.table)) await clearFailedRows(this.client, name, plan.table, written.map((i) => rows[i]!.key));
    delta.bytes = sumBytes(rows);
    await addJobProgress(this.client, this.jobId, delta);
    addTo(this.progress, delta);
    return { failedIndexes: failures.map((f) => f.index) };
  }

  /** Applies the table's conflict strategy to staged rows whose target row was changed in Supabase. */
  private async resolveConflicts(plan: TablePlan, full: boolean): Promise<number> {
    const conflicts = await findConflicts(this.client, plan, full);
    if (conflicts.length === 0) return 0;
    const strategy = this.strategyFor(plan.table);
    const keepAccepted: KeyValues[] = [];
    const keepPending: KeyValues[] = [];
    for (const conflict of conflicts) {
      const resolution = decide(strategy, conflict.sourceCursor, conflict.targetCursor);
      if (resolution === 'target_kept') keepAccepted.push(conflict.key);
      if (resolution === 'pending') keepPending.push(conflict.key);
      await logConflict(this.client, {
        tenant: this.tenant.client_name,
        table: plan.table,
        key: conflict.key,
        kind: 'update',
        strategy,
        resolution,
        sourceRow: conflict.sourceRow,
        targetRow: conflict.targetRow,
        jobId: this.jobId,
      });
    }
    await keepTargetRows(this.client, plan, keepAccepted, true);
    await keepTargetRows(this.client, plan, keepPending, false);
    return conflicts.length;
  }

  private strategyFor(table: string): ConflictStrategy {
    return this.config.tables[table]?.conflict_strategy ?? this.config.conflict_strategy;
  }

  // ── tables without a cursor: row digests ───────────────────────────────────────────────────────────────────────

  /**
   * A table without a cursor whose target was verified equal to the source in an earlier run (its checkpoint holds
   * the source's row digests per row-id range and the target's key summary from that moment): only the ranges whose
   * digest changed are read and compared row by row, then the key sets are compared (deletes, rows the target
   * lacks). When the digests and the target's key summary are unchanged, source and target are still equal.
   *
   * Why this is safe: a digest covers the stored bytes of every synced column of every row in its range, so an
   * equal digest means those rows are exactly what was verified; the signature covers the table definition, the
   * column types and the conversion version. The target side cannot drift unseen either: a change by anyone but
   * the sync is stamped (such tables go the full way), a delete changes its key summary, and every sync write
   * clears the digests until the run that wrote them records new ones. Without a consistent snapshot of the source,
   * or with failed rows, a pass in progress, a full compare due or requested, the table is compared in full.
   */
  private async compareChangedRanges(source: SyncSource, plan: TablePlan, checkpoint: Checkpoint, result: TableResult): Promise<DigestRun> {
    const none: DigestRun = { done: false, recorded: false, digests: null };
    const stored = checkpoint.source_digest;
    if (!stored || !source.rowDigests || !source.readRowsByRowid || !source.consistentSnapshot) return none;
    if (this.options.full || this.fullCompareDue(checkpoint) || checkpoint.pass !== null || this.tablesWithFailures.has(plan.table)) return none;
    if ((await source.rowDigestSignature?.(plan.source)) !== stored.signature) return none;
    // Postgres summarizes the target while SQLite digests the source.
    const targetSummary = targetKeySummary(this.client, plan);
    targetSummary.catch(() => undefined);
    const digests = await source.rowDigests(plan.source, stored.shift);
    const target = await targetSummary;
    // Rows changed in Supabase need their conflict strategy applied: the full pass does that.
    if (!digests || digests.signature !== stored.signature || target.changed > 0) return { ...none, digests };

    result.pass = 'incremental';
    this.emit({ type: 'table-start', table: plan.table, pass: 'incremental' });
    const changed = changedRanges(stored, digests);
    const targetUnchanged = target.count === stored.count && target.low === stored.low && target.high === stored.high;
    if (changed.length === 0 && targetUnchanged) return { done: true, recorded: true, digests };

    await this.forgetDigests(plan.table, checkpoint);
    let page: SourceRow[] = [];
    let pageBytes = 0;
    const flush = async () => {
      if (page.length === 0) return;
      const prepared = preparePage(page);
      page = [];
      pageBytes = 0;
      await this.inTransaction(async () => {
        await this.applyRows(plan, prepared, { full: false, direct: false }, result);
        await this.fence();
      });
    };
    for (const range of changed) {
      let after: bigint | null = null;
      for (;;) {
        if (this.options.signal?.aborted) throw STOPPED;
        const limit = this.config.page_size - page.length;
        const read = await source.readRowsByRowid(plan.source, { ...range, after, limit, maxBytes: this.config.page_bytes - pageBytes });
        if (read.rows.length === 0) break;
        page.push(...read.rows);
        pageBytes += sumBytes(read.rows);
        result.rowsRead += read.rows.length;
        if (page.length >= this.config.page_size || pageBytes >= this.config.page_bytes) await flush();
        after = read.last;
      }
    }
    await flush();
    this.emit({ type: 'page', table: plan.table, rows: result.rowsRead, written: result.inserted + result.updated, total: result.rowsRead });
    await this.reconcileKeys(source, plan, result);
    return { done: true, recorded: false, digests };
  }

  /**
   * Tables whose pass will be incremental get their key comparison afterwards: the source starts hashing their keys
   * in the background now (see key-hasher.ts), while this thread reads and writes rows.
   */
  private async planKeyComparisons(source: SyncSource, tables: SourceTable[], checkpoints: Map<string, Checkpoint>): Promise<void> {
    if (!source.planKeyHashes || !source.countRows || this.options.full) return;
    const requests: Array<{ table: SourceTable; keepHashes: boolean }> = [];
    for (const table of tables) {
      const checkpoint = checkpoints.get(table.name);
      if (table.skipReason || table.problem || !table.cursor || !checkpoint || checkpoint.cursor_value === null) continue;
      if (checkpoint.cursor_column !== table.cursor.column || this.fullCompareDue(checkpoint)) continue;
      requests.push({ table, keepHashes: (await source.countRows(table)) <= HASH_LIST_MAX });
    }
    source.planKeyHashes(requests);
  }

  private fullCompareDue(checkpoint: Checkpoint): boolean {
    const hours = this.config.full_compare_hours;
    return hours > 0 && (!checkpoint.last_full_compare_at || Date.now() - checkpoint.last_full_compare_at.getTime() > hours * 3_600_000);
  }

  /** Stored digests stop describing the target as soon as the sync writes to the table: cleared before it does. */
  private async forgetDigests(table: string, checkpoint: Checkpoint): Promise<void> {
    await saveCheckpoint(this.client, this.tenant.client_name, table, { source_digest: null });
    checkpoint.source_digest = null;
  }

  /** Records the source's row digests (from this run's snapshot) with the target's key summary, once verified equal. */
  private async recordDigests(source: SyncSource, plan: TablePlan, checkpoint: Checkpoint, computed: RowDigests | null): Promise<void> {
    if (!source.rowDigests || !source.consistentSnapshot) return;
    // Ranges sized for the table as it was when first recorded: re-chosen once the table has grown a lot.
    const digests = computed && computed.starts.length <= 16_384 ? computed : await source.rowDigests(plan.source, null);
    if (!digests) return;
    const target = await targetKeySummary(this.client, plan);
    // A row changed in Supabase meanwhile (manual conflicts stay so): no record, the next run compares in full.
    if (target.changed > 0) return;
    const starts = Buffer.alloc(digests.starts.length * 8);
    digests.starts.forEach((start, index) => starts.writeBigInt64BE(start, index * 8));
    const record: SourceDigestRecord = {
      signature: digests.signature,
      shift: digests.shift,
      starts: starts.toString('base64'),
      digests: digests.digests.toString('base64'),
      count: target.count,
      low: target.low,
      high: target.high,
    };
    await saveCheckpoint(this.client, this.tenant.client_name, plan.table, { source_digest: record });
    checkpoint.source_digest = record;
  }

  // ── key reconciliation ────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Compares the source's and the target's key sets (count and key-hash sums; details only where they differ):
   * target rows the source no longer has are deleted, source rows the target lacks are written. Sources that hash
   * keys themselves go by key hashes; others (MongoDB) by key ranges.
   */
  private async reconcileKeys(source: SyncSource, plan: TablePlan, result: TableResult): Promise<void> {
    if (source.keyHashes && source.keysWithHashes && source.existingKeys && source.countRows) return this.reconcileKeysByHashes(source, plan, result);
    const table = plan.source;
    // Fast path: the source summarizes its keys itself; equal summaries mean there is nothing to repair.
    if (source.summarizeKeys) {
      // Postgres sums the target while the source sums its own keys.
      const targetSummary = summarizeTable(this.client, plan);
      targetSummary.catch(() => undefined);
      const here = await source.summarizeKeys(table);
      const there = await targetSummary;
      if (here.count === there.count && here.low === there.low && here.high === there.high) return;
      // Many differences (a mass delete): one bulk comparison beats range by range.
      if (Math.abs(here.count - there.count) > BULK_COMPARE_DIFFERENCES) return this.compareAllKeys(source, plan, result);
    }
    // Without a shared key order, key ranges cannot be compared: compare the whole key sets at once.
    if (!table.keyOrdered) return this.compareAllKeys(source, plan, result);
    const rangeSize = this.config.key_range_size;
    const batch = Math.min(rangeSize, 50_000);

    // Pass 1: every source key, summarized per range (bounds, count, hash sum); only the summaries are kept.
    const ranges: Array<KeyRange & { count: number; hashSum: bigint }> = [];
    let total = 0;
    let totalSum = 0n;
    let after: KeyValues | null = null;
    for (;;) {
      if (this.options.signal?.aborted) throw STOPPED;
      let count = 0;
      let sum = 0n;
      let last: KeyValues | null = after;
      let exhausted = false;
      while (count < rangeSize) {
        const want = Math.min(batch, rangeSize - count);
        const keys = await source.readKeys(table, { afterKey: last, limit: want });
        for (const key of keys) sum += BigInt(keyHash(key));
        count += keys.length;
        if (keys.length) last = keys[keys.length - 1]!;
        if (keys.length < want) {
          exhausted = true;
          break;
        }
      }
      ranges.push({ after, through: exhausted ? null : last, count, hashSum: sum });
      total += count;
      totalSum += sum;
      if (exhausted) break;
      after = last;
    }

    // Pass 2: the whole table at once; equal counts and sums mean equal key sets (the usual case).
    const whole = await summarizeRange(this.client, plan, { after: null, through: null });
    if (whole.count === total && whole.hashSum === totalSum.toString()) return;

    // Pass 3: the ranges that differ (in a transaction, so the planner uses the key index: see inTransaction).
    const differing: typeof ranges = [];
    for (const range of ranges) {
      if (this.options.signal?.aborted) throw STOPPED;
      const target = await this.inTransaction(() => summarizeRange(this.client, plan, range));
      if (target.count !== range.count || target.hashSum !== range.hashSum.toString()) differing.push(range);
    }
    if (differing.length > Math.max(4, ranges.length / 8)) return this.compareAllKeys(source, plan, result);
    for (const range of differing) {
      const keys = await source.readKeys(table, { afterKey: range.after, through: range.through, limit: Number.MAX_SAFE_INTEGER });
      await this.repairRange(source, plan, range, keys, keys.map(keyHash), result);
    }
  }

  /**
   * Key sets compared by key hash: the source hashes its keys inside SQLite (in the background for tables with a
   * cursor) while Postgres sums its stored key hashes; equal counts and sums mean equal key sets (the usual case).
   * Otherwise both sides' hash lists are sorted and merged, giving the exact differing hashes; only keys with those
   * hashes are listed — target keys are checked against the source by key (two keys may share a hash), source keys
   * are fetched and merged (a no-op for rows already equal). A few deletes among a million rows move a few thousand
   * keys, not a million. Past HASH_LIST_MAX keys (8 bytes per key on each side), the bulk comparison takes over.
   */
  private async reconcileKeysByHashes(source: SyncSource, plan: TablePlan, result: TableResult): Promise<void> {
    const table = plan.source;
    const keepHashes = (await source.countRows!(table)) <= HASH_LIST_MAX;
    // Postgres sums the whole table while the source hashes its keys.
    const targetSummary = targetKeySummary(this.client, plan);
    targetSummary.catch(() => undefined);
    const here = await source.keyHashes!(table, { keepHashes });
    const whole = await targetSummary;
    if (whole.count === here.count && whole.low === here.low && whole.high === here.high) return;
    if (this.options.signal?.aborted) throw STOPPED;
    if (!here.hashes || whole.count > HASH_LIST_MAX) return this.compareAllKeys(source, plan, result);

    let theirs = new Float64Array(Math.max(16, whole.count));
    let size = 0;
    await targetKeyHashes(this.client, plan, whole.count, (hash) => {
      if (size === theirs.length) {
        const grown = new Float64Array(theirs.length * 2);
        grown.set(theirs);
        theirs = grown;
      }
      theirs[size++] = hash;
    });
    const target = theirs.subarray(0, size).sort();
    const ours = here.hashes.slice().sort();
    const goneHashes = new Set<number>();
    const missingHashes = new Set<number>();
    let i = 0;
    let j = 0;
    while (i < ours.length || j < target.length) {
      if (j >= target.length || (i < ours.length && ours[i]! < target[j]!)) missingHashes.add(ours[i++]!);
      else if (i >= ours.length || target[j]! < ours[i]!) goneHashes.add(target[j++]!);
      else {
        i++;
        j++;
      }
    }
    if (goneHashes.size === 0 && missingHashes.size === 0) return;
    if (goneHashes.size + missingHashes.size > DETAIL_KEYS_MAX) return this.compareAllKeys(source, plan, result);
    const candidates = targetKeysWithHashes(this.client, plan, [...goneHashes]);
    candidates.catch(() => undefined);
    const missing = await source.keysWithHashes!(table, [...missingHashes]);
    const inTarget = await candidates;
    const stillAtSource = inTarget.length ? await source.existingKeys!(table, inTarget.map((t) => t.key)) : new Set<string>();
    const gone = inTarget.filter((t) => !stillAtSource.has(JSON.stringify(t.key))).map((t) => t.key);
    await this.applyRepair(source, plan, gone, missing.map((m) => m.key), result);
  }

  /** Compares the whole key sets at once (see compareKeySets), then repairs what differs. */
  private async compareAllKeys(source: SyncSource, plan: TablePlan, result: TableResult): Promise<void> {
    const signal = this.options.signal;
    async function* sourceKeys(): AsyncGenerator<KeyValues[]> {
      let after: KeyValues | null = null;
      for (;;) {
        if (signal?.aborted) throw STOPPED;
        const keys = await source.readKeys(plan.source, { afterKey: after, limit: 50_000 });
        if (keys.length === 0) return;
        yield keys;
        if (keys.length < 50_000) return;
        after = keys[keys.length - 1]!;
      }
    }
    const { gone, missing } = await compareKeySets(this.client, plan, sourceKeys(), keyHash);
    await this.applyRepair(source, plan, gone, missing, result);
  }

  private async repairRange(source: SyncSource, plan: TablePlan, range: KeyRange, keys: KeyValues[], hashes: number[], result: TableResult): Promise<void> {
    const sourceKeys = new Map<string, number>();
    keys.forEach((key, index) => sourceKeys.set(JSON.stringify(key), hashes[index]!));
    const targetKeys = await this.inTransaction(() => keysInRange(this.client, plan, range));
    const targetSet = new Map(targetKeys.map((t) => [JSON.stringify(t.key), t.hash]));
    const gone = targetKeys.filter((t) => !sourceKeys.has(JSON.stringify(t.key))).map((t) => t.key);
    const missing = keys.filter((key, index) => targetSet.get(JSON.stringify(key)) !== hashes[index]);
    await this.applyRepair(source, plan, gone, missing, result);
  }

  /** Deletes what the source no longer has and writes what the target lacks (except rows that failed this run). */
  private async applyRepair(source: SyncSource, plan: TablePlan, gone: KeyValues[], allMissing: KeyValues[], result: TableResult): Promise<void> {
    const failedKeys = this.failedThisRun.get(plan.table);
    const missing = failedKeys ? allMissing.filter((key) => !failedKeys.has(JSON.stringify(key))) : allMissing;
    for (let start = 0; start < gone.length; start += 1000) {
      const chunk = gone.slice(start, start + 1000);
      await this.inTransaction(async () => {
        await this.removeGone(plan, chunk, result);
        await this.fence();
      });
    }

    for (let start = 0; start < missing.length; start += this.config.page_size) {
      const rows = await source.readRowsByKeys(plan.source, missing.slice(start, start + this.config.page_size));
      if (rows.length === 0) continue;
      result.rowsRead += rows.length;
      await this.inTransaction(async () => {
        await this.applyRows(plan, preparePage(rows), { full: false, direct: false }, result);
        await this.fence();
      });
    }
  }

  /**
   * Applies source deletes to the target (inside the caller's transaction): rows are deleted (or soft-deleted); a
   * row that was also changed in Supabase is a conflict, settled by the table's strategy and logged.
   */
  private async removeGone(plan: TablePlan, keys: KeyValues[], result: TableResult): Promise<void> {
    if (keys.length === 0) return;
    const strategy = this.strategyFor(plan.table);
    const candidates = await inspectDeletes(this.client, plan, keys);
    const remove: KeyValues[] = [];
    const keepAccepted: KeyValues[] = [];
    const keepPending: KeyValues[] = [];
    let conflicts = 0;
    for (const candidate of candidates) {
      if (!candidate.changedInTarget) {
        remove.push(candidate.key);
        continue;
      }
      conflicts++;
      const resolution = strategy === 'target_wins' ? 'target_kept' : strategy === 'manual' ? 'pending' : 'source_applied';
      if (resolution === 'source_applied') remove.push(candidate.key);
      else if (resolution === 'target_kept') keepAccepted.push(candidate.key);
      else keepPending.push(candidate.key);
      await logConflict(this.client, {
        tenant: this.tenant.client_name,
        table: plan.table,
        key: candidate.key,
        kind: 'delete',
        strategy,
        resolution,
        sourceRow: null,
        targetRow: candidate.targetRow,
        jobId: this.jobId,
      });
    }
    const deleted = await deleteRows(this.client, plan, remove, this.config.delete_mode === 'soft');
    await detachRows(this.client, plan, keepAccepted, true);
    await detachRows(this.client, plan, keepPending, false);
    const delta = { rowsSynced: 0, rowsFailed: 0, rowsDeleted: deleted, conflicts, bytes: 0 };
    await addJobProgress(this.client, this.jobId, delta);
    addTo(this.progress, delta);
    result.deleted += deleted;
    result.conflicts += conflicts;
  }

  // ── plumbing ──────────────────────────────────────────────────────────────────────────────────────────────────

  private async inTransaction<T>(work: () => Promise<T>): Promise<T> {
    // Every statement in a page joins a small page with a large table by its key: always probe the key index.
    // (A target table still growing has no statistics, and the planner would otherwise scan it for every page.)
    // lcs.sync_writer tells the tenant tables' change trigger that these writes are the sync's own.
    await this.client.query(
      `begin; set local enable_hashjoin = off; set local enable_mergejoin = off; set local enable_seqscan = off; set local ${SYNC_WRITER_SETTING} = 'on'`,
    );
    try {
      const value = await work();
      await this.client.query('commit');
      return value;
    } catch (error) {
      await this.client.query('rollback').catch(() => undefined);
      throw error;
    }
  }

  /**
   * The fence, checked just before each page commits: the claim is still held by this session. Pages are written
   * on the claim's own connection, so this only fails if the lock was released underneath us.
   */
  private async fence(): Promise<void> {
    if (!(await holdsTenantClaim(this.client, this.tenant.client_name))) {
      throw new LcsError('LCS_SYNC_FENCED', `This job lost the claim on "${this.tenant.client_name}"; it stops without writing.`);
    }
  }

  private async connectionAlive(): Promise<boolean> {
    try {
      await this.client.query('select 1');
      return true;
    } catch {
      return false;
    }
  }

  private emit(event: SyncProgress): void {
    try {
      this.options.onProgress?.(event);
    } catch {
      // A progress display must never break a sync.
    }
  }
}

function emptyCheckpoint(table: string): Checkpoint {
  return {
    table_name: table,
    cursor_column: null,
    cursor_value: null,
    pass: null,
    pass_filter_cursor: null,
    pass_start_cursor: null,
    pass_last_key: null,
    pass_blocked: false,
    last_full_compare_at: null,
    last_synced_at: null,
    status: 'pending',
    error: null,
    source_digest: null,
  };
}

function decide(strategy: ConflictStrategy, sourceCursor: string | null, targetCursor: string | null): 'source_applied' | 'target_kept' | 'pending' {
  if (strategy === 'source_wins') return 'source_applied';
  if (strategy === 'target_wins') return 'target_kept';
  if (strategy === 'manual') return 'pending';
  return compareCursors(targetCursor, sourceCursor) > 0 ? 'target_kept' : 'source_applied';
}

/** Compares two cursor texts: integers numerically, anything else as ISO timestamps or text. */
function compareCursors(a: string | null, b: string | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  if (/^-?\d+$/.test(a) && /^-?\d+$/.test(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x === y ? 0 : x > y ? 1 : -1;
  }
  const x = Date.parse(a);
  const y = Date.parse(b);
  if (!Number.isNaN(x) && !Number.isNaN(y)) return Math.sign(x - y);
  return a < b ? -1 : a > b ? 1 : 0;
}

const UNIT_PER_SECOND: Record<Exclude<CursorUnit, 'iso'>, bigint> = {
  seconds: 1n,
  milliseconds: 1_000n,
  microseconds: 1_000_000n,
  nanoseconds: 1_000_000_000n,
};

/** A cursor value moved back by `seconds` (the lookback that absorbs clock skew and late commits). */
export function cursorMinus(value: string, unit: CursorUnit, seconds: number): string {
  if (unit === 'iso') {
    const time = Date.parse(value);
    return Number.isNaN(time) ? value : new Date(time - seconds * 1000).toISOString();
  }
  if (!/^-?\d+$/.test(value)) return value;
  return (BigInt(value) - BigInt(seconds) * UNIT_PER_SECOND[unit]).toString();
}

/** The pass's start cursor, never later than now: a row stamped in the future must not hide later changes. */
export function capCursor(value: string | null, unit: CursorUnit): string | null {
  if (value === null) return null;
  if (unit === 'iso') {
    const time = Date.parse(value);
    return Number.isNaN(time) || time <= Date.now() ? value : new Date().toISOString();
  }
  if (!/^-?\d+$/.test(value)) return value;
  const now = (BigInt(Date.now()) * UNIT_PER_SECOND[unit]) / 1000n;
  return BigInt(value) > now ? now.toString() : value;
}

function sumBytes(rows: SourceRow[]): number {
  let total = 0;
  for (const row of rows) total += row.bytes;
  return total;
}

function addTo(target: JobProgress, delta: JobProgress): void {
  target.rowsSynced += delta.rowsSynced;
  target.rowsFailed += delta.rowsFailed;
  target.rowsDeleted += delta.rowsDeleted;
  target.conflicts += delta.conflicts;
  target.bytes += delta.bytes;
}

function tableLedgerEntry(result: TableResult): Record<string, unknown> {
  return {
    status: result.status,
    pass: result.pass,
    rows_read: result.rowsRead,
    inserted: result.inserted,
    updated: result.updated,
    deleted: result.deleted,
    failed: result.failed,
    conflicts: result.conflicts,
    ...(result.addedColumns.length ? { added_columns: result.addedColumns } : {}),
    ...(result.excludedColumns.length ? { excluded_columns: result.excludedColumns } : {}),
    ...(result.error ? { error: result.error } : {}),
    seconds: result.seconds,
  };
}

/** Adds the time since the previous call to `phase` (phases may be entered more than once). */
function phaseClock(seconds: Record<string, number>): (phase: string) => void {
  let last = performance.now();
  return (phase) => {
    const now = performance.now();
    seconds[phase] = (seconds[phase] ?? 0) + (now - last) / 1000;
    last = now;
  };
}

/** A Postgres error caused by the data of a row (bad value, constraint), as opposed to the connection or the SQL. */
function isRowError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(08|57P)/.test(code)) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection is closed|Client was closed|ECONNRESET|EPIPE/i.test(message);
}
