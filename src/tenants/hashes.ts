import * as crypto from 'node:crypto';

const { createHash } = crypto;
/** crypto.hash (Node 20.12+, 21.7+): one call, no Hash object. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string | Buffer, encoding: 'hex') => string }).hash;
import type { KeyHashSummary, KeyValues } from './sources/types.js';

export type { KeyHashSummary };

/**
 * A 52-bit hash of a row key. Each target row stores the hash of its key; sums of these hashes over a key range,
 * compared with the same sums over the source's keys, find ranges whose key sets differ (deleted rows, rows that
 * never arrived) without moving every key across the network. Two FNV-1a lanes with different offsets, mixed.
 */
export function keyHash(key: KeyValues): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let part = 0; part < key.length; part++) {
    const text = key[part]!;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      a = Math.imul(a ^ code, 0x01000193);
      b = Math.imul(b ^ code, 0x5bd1e995);
      b ^= b >>> 15;
    }
    // A separator that no UTF-16 unit equals keeps ("ab","c") and ("a","bc") apart.
    a = Math.imul(a ^ 0x10000, 0x01000193);
    b = Math.imul(b ^ (0x10000 + part), 0x5bd1e995);
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  b ^= b >>> 16;
  b = Math.imul(b, 0xc2b2ae35);
  b ^= b >>> 13;
  return (a >>> 12) * 0x100000000 + (b >>> 0);
}

/**
 * The key hash split into two overlapping 31-bit halves, so sums over millions of keys fit 64-bit integers on both
 * sides (SQLite's sum() and Postgres' sum(bigint)): low = h mod 2^31, high = floor(h / 2^21).
 */
export function keyHashHalves(hash: number): [number, number] {
  return [hash % 2 ** 31, Math.floor(hash / 2 ** 21)];
}

/**
 * Adds up key hashes exactly, over any number of keys: the halves are summed in doubles (exact below 2^53) and moved
 * into BigInts every 2^21 keys. Self-contained on purpose: key-hasher.ts runs this very function on another thread.
 */
export function keyHashAccumulator(keepHashes: boolean): { add(hash: number): void; result(): KeyHashSummary } {
  let count = 0;
  let low = 0;
  let high = 0;
  let pending = 0;
  let lowTotal = BigInt(0);
  let highTotal = BigInt(0);
  let hashes = keepHashes ? new Float64Array(1024) : null;
  return {
    add(hash: number): void {
      low += hash % 2147483648;
      high += Math.floor(hash / 2097152);
      if (++pending === 2097152) {
        lowTotal += BigInt(low);
        highTotal += BigInt(high);
        low = 0;
        high = 0;
        pending = 0;
      }
      if (hashes) {
        if (count === hashes.length) {
          const grown = new Float64Array(hashes.length * 2);
          grown.set(hashes);
          hashes = grown;
        }
        hashes[count] = hash;
      }
      count++;
    },
    result(): KeyHashSummary {
      const summary: KeyHashSummary = { count, low: (lowTotal + BigInt(low)).toString(), high: (highTotal + BigInt(high)).toString() };
      if (hashes) summary.hashes = hashes.slice(0, count);
      return summary;
    },
  };
}

/** The sum of key hashes of a set of keys, as decimal text (what Postgres returns for sum(bigint)). */
export function keyHashSum(hashes: Iterable<number>): string {
  let sum = 0n;
  for (const hash of hashes) sum += BigInt(hash);
  return sum.toString();
}

/**
 * Hash of a source row as written: md5 of its COPY line (an unambiguous encoding of its values), uuid-shaped.
 * Stored with the row, it tells a changed source row from an unchanged one without reading the target row back.
 */
export function sourceHash(copyLine: string | Buffer): string {
  // One-shot hashing (no Hash object per row) where Node has it: the same md5, for a fraction of the cost. A line
  // given as bytes is its UTF-8 encoding, so both forms hash alike.
  const hex = oneShotHash ? oneShotHash('md5', copyLine, 'hex') : createHash('md5').update(copyLine).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
