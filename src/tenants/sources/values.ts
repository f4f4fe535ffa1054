import type { TargetType, WireValue } from './types.js';

/**
 * Conversion of one source value to the text form of its target Postgres type. A value that does not fit throws a
 * ValueError; the source then marks the row failed (it is recorded and retried) instead of writing a changed value.
 */
export class ValueError extends Error {}

const integerText = /^-?\d+$/;
const numericText = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Converts a JS value (as SQLite or Mongo hand it over) to wire text for `type`. */
export function toWire(value: unknown, type: TargetType): WireValue {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'text':
      return checkText(scalarText(value, type));
    case 'bigint':
      return bigintText(value);
    case 'double precision':
      return doubleText(value);
    case 'numeric':
      return numericValue(value);
    case 'boolean':
      return booleanText(value);
    case 'jsonb':
      return checkText(typeof value === 'string' ? value : scalarText(value, type));
    case 'bytea':
      if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
      if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
      if (typeof value === 'string') return `\\x${Buffer.from(value, 'utf8').toString('hex')}`;
      throw new ValueError(`a ${typeof value} cannot be stored as bytea`);
    case 'timestamptz':
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw new ValueError('invalid date');
        return value.toISOString();
      }
      if (typeof value === 'string') return checkText(value);
      throw new ValueError(`a ${typeof value} is not a timestamp`);
  }
}

function scalarText(value: unknown, type: TargetType): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  throw new ValueError(`a binary or ${typeof value} value cannot be stored in a ${type} column`);
}

/** Postgres text cannot hold NUL characters; such a value fails its row rather than being silently altered. */
function checkText(text: string): string {
  if (text.includes('\u0000')) throw new ValueError('the value contains a NUL character, which Postgres text cannot store');
  return text;
}

function bigintText(value: unknown): string {
  let result: bigint;
  if (typeof value === 'bigint') result = value;
  else if (typeof value === 'number' && Number.isInteger(value)) result = BigInt(value);
  else if (typeof value === 'string' && integerText.test(value.trim())) result = BigInt(value.trim());
  else if (typeof value === 'boolean') result = value ? 1n : 0n;
  else throw new ValueError(`${describe(value)} is not an integer`);
  if (result < INT64_MIN || result > INT64_MAX) throw new ValueError(`${result} does not fit a 64-bit integer`);
  return result.toString();
}

function doubleText(value: unknown): string {
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (numericText.test(trimmed) || /^[-+]?(Infinity|NaN)$/i.test(trimmed)) return trimmed;
  }
  throw new ValueError(`${describe(value)} is not a number`);
}

function numericValue(value: unknown): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
    return String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string' && numericText.test(value.trim())) return value.trim();
  throw new ValueError(`${describe(value)} is not a number`);
}

function booleanText(value: unknown): string {
  if (value === true || value === 1 || value === 1n) return 't';
  if (value === false || value === 0 || value === 0n) return 'f';
  throw new ValueError(`${describe(value)} is not a boolean (expected 0 or 1)`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Buffer.isBuffer(value)) return `a ${value.length}-byte blob`;
  return String(value);
}

/** Text form of a key or cursor value, as Postgres prints it for the target type. */
export function keyText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  return String(value);
}

/** Approximate byte size of a wire row. */
export function wireBytes(values: WireValue[]): number {
  let bytes = 0;
  for (const value of values) bytes += value === null ? 1 : value.length + 1;
  return bytes;
}
