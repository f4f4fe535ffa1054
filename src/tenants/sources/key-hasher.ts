import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { keyHash, keyHashAccumulator, type KeyHashSummary } from '../hashes.js';
import { keyText } from './values.js';

/**
 * Hashes the keys of Open WebUI tables on a second thread, with its own read-only connection to webui.db, while the
 * engine's thread reads and writes rows: the key comparison of a table then mostly waits for nothing.
 *
 * Its connection reads the file as it is when a job runs, which can be newer than the engine's snapshot — never
 * older. Key hashes are only ever used to find keys to delete (gone from the newer state: gone from the source;
 * each is checked again by key through the engine's snapshot before it is deleted) or to fetch (read through the
 * engine's snapshot: absent there, picked up by the next run), so every outcome is one the next run would reach
 * anyway. Anything recorded as verified (row digests) is computed on the engine's snapshot, never here.
 *
 * The worker runs as inline code (no separate file to ship or transpile); if it cannot start or fails, callers
 * compute the same on their own thread.
 */
export interface KeyHasher {
  /** Count and key-hash sums of a table (every hash too with `keepHashes`), computed in the background, in order. */
  keyHashes(table: string, keyColumns: string[], keepHashes: boolean): Promise<KeyHashSummary>;
  /** The keys (with their hashes) whose hash is one of `hashes`. */
  keysWithHashes(table: string, keyColumns: string[], hashes: number[]): Promise<Array<{ key: string[]; hash: number }>>;
  close(): Promise<void>;
}

// The same key text (keyText), hash (keyHash) and sums (keyHashAccumulator) as the engine, embedded as source.
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const keyHash = ${keyHash.toString()};
const keyText = ${keyText.toString()};
const keyHashAccumulator = ${keyHashAccumulator.toString()};
const db = new Database(workerData.file, { readonly: true, fileMustExist: true, timeout: 15000 });
db.defaultSafeIntegers(true);
let accumulator = null;
let wanted = null;
const hashOf = (key) => (key.length === 1 && typeof key[0] === 'string' ? keyHash(key) : keyHash(key.map((value) => keyText(value) ?? '')));
db.function('lcs_key_add', { deterministic: false, varargs: true, safeIntegers: true }, (...key) => {
  accumulator.add(hashOf(key));
  return 0n;
});
db.function('lcs_key_wanted', { deterministic: false, varargs: true, safeIntegers: true }, (...key) => (wanted.has(hashOf(key)) ? 1n : 0n));
const q = (name) => '"' + name.replace(/"/g, '""') + '"';
parentPort.on('message', (job) => {
  const columns = job.keyColumns.map(q).join(', ');
  try {
    if (job.hashes) {
      wanted = new Set(job.hashes);
      const keys = db.prepare('select ' + columns + ' from ' + q(job.table) + ' where lcs_key_wanted(' + columns + ')').raw(true).all().map((raw) => {
        const key = raw.map((value) => keyText(value) ?? '');
        return { key, hash: keyHash(key) };
      });
      parentPort.postMessage({ id: job.id, result: keys });
    } else {
      accumulator = keyHashAccumulator(job.keepHashes);
      db.prepare('select count(*), sum(lcs_key_add(' + columns + ')) from ' + q(job.table)).raw(true).get();
      const result = accumulator.result();
      parentPort.postMessage({ id: job.id, result }, result.hashes ? [result.hashes.buffer] : []);
    }
  } catch (error) {
    parentPort.postMessage({ id: job.id, error: String((error && error.message) || error) });
  } finally {
    accumulator = null;
    wanted = null;
  }
});
`;

/** Starts the background key hasher for a webui.db file; null when a worker thread cannot be started here. */
export function startKeyHasher(file: string): KeyHasher | null {
  let worker: Worker;
  try {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, sqlite } });
  } catch {
    return null;
  }
  // Keeps the process alive only while a job is in flight (an idle hasher must not hold a CLI open).
  worker.unref();
  const pending = new Map<number, { resolve: (value: never) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: Error | null = null;
  const failAll = (error: Error) => {
    failure ??= error;
    for (const waiter of pending.values()) waiter.reject(failure);
    pending.clear();
  };
  worker.on('message', (message: { id: number; result?: unknown; error?: string }) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (pending.size === 0) worker.unref();
    if (message.result) waiter.resolve(message.result as never);
    else waiter.reject(new Error(message.error ?? 'key hasher failed'));
  });
  worker.on('error', (error) => failAll(error));
  worker.on('exit', () => failAll(new Error('key hasher stopped')));
  const request = <T>(job: Record<string, unknown>): Promise<T> => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: never) => void, reject });
      worker.ref();
      worker.postMessage({ ...job, id });
    });
  };
  return {
    keyHashes: (table, keyColumns, keepHashes) => request<KeyHashSummary>({ table, keyColumns, keepHashes }),
    keysWithHashes: (table, keyColumns, hashes) => request<Array<{ key: string[]; hash: number }>>({ table, keyColumns, hashes }),
    async close() {
      failAll(new Error('key hasher closed'));
      await worker.terminate();
    },
  };
}
