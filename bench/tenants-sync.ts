/**
 * Tenant sync benchmark, all measured in one run against the same Postgres so the ratios compare like with like:
 *   - raw COPY: the same rows COPYed into tables of the same shape, timing the COPY statements alone (the ceiling);
 *   - raw read + COPY: reading webui.db and COPYing, nothing else (what a naive one-shot loader does);
 *   - full sync: `syncTenant` on an empty tenant (staging, merge, hashes, checkpoints, key comparison);
 *   - incremental after 1% of the rows changed;
 *   - detecting 1,000 deleted rows among all rows;
 *   - peak memory (RSS and heap) while syncing, sampled every 50 ms.
 *
 * Run: node --import tsx bench/tenants-sync.ts
 * After the timed runs, every row of every table is compared with the source (test/tenants/support/compare.ts, its own
 * reading of both sides): the figures only count when the target equals the source.
 *
 * Env: BENCH_ROWS (default 1000000; BENCH_QUICK=1: 20000), DATABASE_URL to use an existing server (else embedded
 *      Postgres 17), BENCH_KEEP=1 to keep the generated webui.db, BENCH_VERIFY=0 to skip the final comparison.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { copyRows } from '../src/tenants/copy.js';
import { syncTenant, type SyncResult } from '../src/tenants/engine.js';
import { registerTenant } from '../src/tenants/lifecycle.js';
import { openOpenWebUiSqlite } from '../src/tenants/sources/openwebui-sqlite.js';
import type { WireValue } from '../src/tenants/sources/types.js';
import { startPostgres, withDatabase } from '../test/support/postgres-server.js';
import { compareWebUiTenant } from '../test/tenants/support/compare.js';
import { WEBUI_DDL } from '../test/tenants/support/webui-fixture.js';

const ROWS = Number(process.env.BENCH_ROWS ?? (process.env.BENCH_QUICK === '1' ? 20_000 : 1_000_000));

/** Share of all rows per table (sums to 1). */
const MIX: Record<string, number> = {
  user: 0.007,
  auth: 0.007,
  channel: 0.001,
  oauth_session: 0.005,
  chat: 0.2,
  message: 0.5,
  message_reaction: 0.1,
  memory: 0.1,
  tag: 0.04,
  folder: 0.04,
};

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Where a sync's time went: the slowest tables with their phases (prepare, pass, keys, digests, …). */
function logPhases(result: SyncResult): void {
  const slowest = [...result.tables].sort((a, b) => (b.seconds.total ?? 0) - (a.seconds.total ?? 0)).slice(0, 5);
  const phases = (seconds: Record<string, number>) =>
    Object.entries(seconds)
      .filter(([phase, value]) => phase !== 'total' && value >= 0.01)
      .map(([phase, value]) => `${phase} ${value.toFixed(2)}`)
      .join(', ');
  for (const table of slowest) log(`      ${table.table}: ${(table.seconds.total ?? 0).toFixed(2)} s (${phases(table.seconds)})`);
}

function generate(file: string): Record<string, number> {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.exec(WEBUI_DDL);
  const counts = Object.fromEntries(Object.entries(MIX).map(([t, share]) => [t, Math.max(1, Math.round(ROWS * share))]));
  const base = 1_750_000_000;
  const users: string[] = [];
  const text = (i: number) => `Message ${i}: "quoted", ünïcode 🚀, back\\slash, tab\tand newline\n`;
  db.transaction(() => {
    const user = db.prepare(`insert into "user" values (?,?,?,?,?,?,?,?,?,?,?,?)`);
    const auth = db.prepare(`insert into auth values (?,?,?,?)`);
    for (let i = 0; i < counts.user!; i++) {
      const id = randomUUID();
      users.push(id);
      user.run(id, `User ${i}`, `u${i}@example.com`, 'user', '/u.png', base + i, base + i, base + i, `sk-${id}`, JSON.stringify({ ui: { theme: 'dark', i } }), '{}', null);
    }
    for (let i = 0; i < counts.auth!; i++) auth.run(users[i % users.length]!, `u${i}@example.com`, '$2b$12$hash', 1);
    const channel = db.prepare(`insert into channel values (?,?,?,?,?,?,?,?,?,?)`);
    const channels: string[] = [];
    for (let i = 0; i < counts.channel!; i++) {
      const id = randomUUID();
      channels.push(id);
      const ns = BigInt(base + i) * 1_000_000_000n;
      channel.run(id, users[i % users.length], null, `channel-${i}`, 'desc', null, '{}', null, ns, ns);
    }
    const oauth = db.prepare(`insert into oauth_session values (?,?,?,?,?,?,?)`);
    for (let i = 0; i < counts.oauth_session!; i++) oauth.run(randomUUID(), users[i % users.length], 'google', '{"access_token":"x"}', base + 3600, base + i, base + i);
    const chat = db.prepare(`insert into chat (id, user_id, title, chat, created_at, updated_at, share_id, archived, pinned, meta, folder_id) values (?,?,?,?,?,?,?,?,?,?,?)`);
    for (let i = 0; i < counts.chat!; i++) {
      const messages = Object.fromEntries(
        [0, 1, 2].map((m) => [`m${m}`, { id: `m${m}`, parentId: m ? `m${m - 1}` : null, role: m % 2 ? 'assistant' : 'user', content: text(i).repeat(3), timestamp: base + i }]),
      );
      chat.run(randomUUID(), users[i % users.length], `Chat ${i}`, JSON.stringify({ title: `Chat ${i}`, models: ['gpt-4o'], history: { messages, currentId: 'm2' } }), base + i, base + Math.floor(i / 10), null, 0, i % 2, '{"tags":[]}', null);
    }
    const message = db.prepare(`insert into message values (?,?,?,?,?,?,?,?,?,?,?,?,?)`);
    const messageIds: string[] = [];
    for (let i = 0; i < counts.message!; i++) {
      const id = randomUUID();
      if (i < counts.message_reaction!) messageIds.push(id);
      const ns = BigInt(base + Math.floor(i / 5)) * 1_000_000_000n + BigInt(i % 1000);
      message.run(id, users[i % users.length], channels[i % channels.length], null, null, 0, null, null, text(i), i % 3 ? null : '{"files":[]}', null, ns, ns);
    }
    const reaction = db.prepare(`insert into message_reaction values (?,?,?,?,?)`);
    for (let i = 0; i < counts.message_reaction!; i++) reaction.run(randomUUID(), users[i % users.length], messageIds[i % messageIds.length], '👍', BigInt(base + i) * 1_000_000_000n);
    const memory = db.prepare(`insert into memory values (?,?,?,?,?)`);
    for (let i = 0; i < counts.memory!; i++) memory.run(randomUUID(), users[i % users.length], `Remember ${i}: likes "tea"`, base + i, base + i);
    const tag = db.prepare(`insert into tag values (?,?,?,?)`);
    for (let i = 0; i < counts.tag!; i++) tag.run(`tag-${Math.floor(i / users.length)}`, `Tag ${i}`, users[i % users.length], null);
    const folder = db.prepare(`insert into folder values (?,?,?,?,?,?,?,?,?,?)`);
    for (let i = 0; i < counts.folder!; i++) folder.run(randomUUID(), null, users[i % users.length], `Folder ${i}`, '{"chats":[]}', null, null, 0, base + i, base + i);
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return counts;
}

/**
 * The ceiling: the same rows COPYed into tables of the same shape (types, keys). Reading webui.db is timed apart,
 * so `pure` is COPY alone (read and encoded rows handed to COPY) and `withRead` is the naive one-shot loader.
 */
async function rawCopy(file: string, pool: pg.Pool, schema: string): Promise<{ pure: number; withRead: number }> {
  const source = openOpenWebUiSqlite(file);
  const tables = (await source.listTables()).filter((t) => !t.problem && !t.skipReason);
  const client = await pool.connect();
  try {
    await client.query(`create schema ${schema}`);
    for (const table of tables) {
      const columns = table.columns.map((c) => `"${c.name}" ${c.type === 'text' && table.key.includes(c.name) ? 'text collate "C"' : c.type}`);
      await client.query(`create table ${schema}."${table.name}" (${columns.join(', ')}, primary key (${table.key.map((k) => `"${k}"`).join(', ')}))`);
    }
    let copySeconds = 0;
    const started = performance.now();
    for (const table of tables) {
      const columns = table.columns.map((c) => `"${c.name}"`).join(', ');
      let after: string[] | null = null;
      for (;;) {
        const rows = await source.readRows(table, { afterKey: after, cursorFrom: null, limit: 5000, maxBytes: 8 << 20 });
        if (rows.length === 0) break;
        const values: WireValue[][] = rows.map((r) => r.values);
        const copyStarted = performance.now();
        await copyRows(client, `copy ${schema}."${table.name}" (${columns}) from stdin`, values);
        copySeconds += (performance.now() - copyStarted) / 1000;
        after = rows[rows.length - 1]!.key;
      }
    }
    return { pure: copySeconds, withRead: (performance.now() - started) / 1000 };
  } finally {
    client.release();
    await source.close();
  }
}

function sampleMemory(): { stop: () => { rssMb: number; heapMb: number } } {
  let rss = process.memoryUsage().rss;
  let heap = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    const usage = process.memoryUsage();
    rss = Math.max(rss, usage.rss);
    heap = Math.max(heap, usage.heapUsed);
  }, 50);
  return {
    stop: () => {
      clearInterval(timer);
      return { rssMb: Math.round(rss / 1048576), heapMb: Math.round(heap / 1048576) };
    },
  };
}

async function main(): Promise<void> {
  // The machine may be shared: its load, with the figures, tells how much they can be trusted.
  const loadAtStart = os.loadavg().map((value) => round(value));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lcs-bench-tenants-'));
  const file = path.join(dir, 'webui.db');
  log(`Generating an Open WebUI database with ${ROWS.toLocaleString()} rows…`);
  const generatedAt = performance.now();
  const counts = generate(file);
  log(`  ${Object.entries(counts).map(([t, n]) => `${t} ${n}`).join(', ')} — ${(statSync(file).size / 1048576).toFixed(0)} MB in ${((performance.now() - generatedAt) / 1000).toFixed(1)} s`);

  const server = await startPostgres();
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  const database = `lcs_bench_${Date.now()}`;
  await admin.query(`create database ${database} template ${server.templateDatabase}`);
  await admin.end();
  const pool = new pg.Pool({ connectionString: withDatabase(server.adminUrl, database), max: 4 });
  try {
    log('Raw COPY baseline…');
    const raw = await rawCopy(file, pool, 'raw_copy');
    const totalRows = Object.values(counts).reduce((a, b) => a + b, 0);
    log(`  raw COPY: ${raw.pure.toFixed(2)} s (${Math.round(totalRows / raw.pure).toLocaleString()} rows/s); read + COPY ${raw.withRead.toFixed(2)} s`);
    await pool.query('drop schema raw_copy cascade');
    await pool.query('checkpoint');

    await registerTenant(pool, { name: 'bench', source: file });
    log('Full sync…');
    global.gc?.();
    const baseline = process.memoryUsage();
    const memory = sampleMemory();
    const fullStarted = performance.now();
    const full = await syncTenant({ pool, tenant: 'bench' });
    const fullSeconds = (performance.now() - fullStarted) / 1000;
    const peak = memory.stop();
    if (full.status !== 'completed') throw new Error(`full sync ${full.status}: ${full.error}`);
    log(`  full sync: ${fullSeconds.toFixed(2)} s (${Math.round(full.rowsSynced / fullSeconds).toLocaleString()} rows/s), ${full.rowsSynced.toLocaleString()} rows`);
    log(`  peak memory while syncing: RSS ${peak.rssMb} MB (before: ${Math.round(baseline.rss / 1048576)} MB), heap ${peak.heapMb} MB`);

    const writer = new Database(file);
    const changeCount = Math.round(totalRows * 0.01);
    const perTable = Math.round(changeCount / 3);
    writer.transaction(() => {
      writer.prepare(`update chat set title = 'changed', updated_at = updated_at + 100000 where rowid in (select rowid from chat order by random() limit ?)`).run(perTable);
      writer.prepare(`update message set content = 'changed', updated_at = updated_at + 100000000000000 where rowid in (select rowid from message order by random() limit ?)`).run(perTable);
      writer.prepare(`update memory set content = 'changed', updated_at = updated_at + 100000 where rowid in (select rowid from memory order by random() limit ?)`).run(changeCount - 2 * perTable);
    })();
    await pool.query('checkpoint');
    const incrementalStarted = performance.now();
    const incremental = await syncTenant({ pool, tenant: 'bench' });
    const incrementalSeconds = (performance.now() - incrementalStarted) / 1000;
    if (incremental.status !== 'completed') throw new Error(`incremental sync ${incremental.status}: ${incremental.error}`);
    log(`  incremental after ${changeCount.toLocaleString()} changed rows (1%): ${incrementalSeconds.toFixed(2)} s, ${incremental.rowsSynced.toLocaleString()} rows written`);
    logPhases(incremental);

    writer.transaction(() => {
      writer.prepare(`delete from message where rowid in (select rowid from message order by random() limit 500)`).run();
      writer.prepare(`delete from chat where rowid in (select rowid from chat order by random() limit 300)`).run();
      writer.prepare(`delete from message_reaction where rowid in (select rowid from message_reaction order by random() limit 200)`).run();
    })();
    writer.close();
    const deleteStarted = performance.now();
    const deletes = await syncTenant({ pool, tenant: 'bench' });
    const deleteSeconds = (performance.now() - deleteStarted) / 1000;
    log(`  detecting 1,000 deletes among ${totalRows.toLocaleString()} rows: ${deleteSeconds.toFixed(2)} s, ${deletes.rowsDeleted} deleted (${deletes.status})`);
    logPhases(deletes);

    let verified: boolean | null = null;
    if (process.env.BENCH_VERIFY !== '0') {
      log('Comparing every row of the tenant with the source…');
      const { mismatches, rows } = await compareWebUiTenant(file, pool, 'bench');
      verified = mismatches.length === 0;
      log(`  ${rows.toLocaleString()} rows compared: ${verified ? 'equal' : `${mismatches.length} mismatches, e.g. ${mismatches.slice(0, 3).join('; ')}`}`);
    }

    const ratio = raw.pure / fullSeconds;
    const summary = {
      rows: totalRows,
      raw_copy_seconds: round(raw.pure),
      raw_read_and_copy_seconds: round(raw.withRead),
      full_sync_seconds: round(fullSeconds),
      full_sync_vs_raw_copy: round(ratio),
      full_sync_vs_raw_read_and_copy: round(raw.withRead / fullSeconds),
      incremental_1pct_seconds: round(incrementalSeconds),
      delete_detection_seconds: round(deleteSeconds),
      deleted_rows: deletes.rowsDeleted,
      target_equals_source: verified,
      peak_rss_mb: peak.rssMb,
      peak_heap_mb: peak.heapMb,
      load_average: { at_start: loadAtStart, at_end: os.loadavg().map((value) => round(value)), cpus: os.cpus().length },
      targets: {
        'full sync >= 50% of raw COPY': ratio >= 0.5,
        'incremental (1%) <= 2 s': incrementalSeconds <= 2,
        '1,000 deletes detected <= 5 s': deleteSeconds <= 5 && deletes.rowsDeleted === 1000,
        'target equals source afterwards': verified,
      },
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await pool.end();
    const cleanup = new pg.Client({ connectionString: server.adminUrl });
    await cleanup.connect();
    await cleanup.query(`drop database if exists ${database} with (force)`).catch(() => undefined);
    await cleanup.end();
    await server.stop();
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${file}`);
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

await main();
