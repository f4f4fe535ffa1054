import type pg from 'pg';
import type { WireValue } from './sources/types.js';

/**
 * `COPY … FROM STDIN` with the pg driver alone. pg runs any object with a `submit` method as a query (its
 * "Submittable" extension point); this one answers the server's CopyInResponse by sending the rows in COPY's text
 * format. Used to load each page into a staging table: the fastest way Postgres takes rows in.
 */
export async function copyRows(client: pg.ClientBase, copySql: string, rows: WireValue[][]): Promise<number> {
  return copyLines(client, copySql, rows.map(encodeCopyLine));
}

/**
 * COPY of rows already encoded as COPY text lines (see encodeCopyLine). `onSent` runs once the data is on its way,
 * while the server is still loading it: the caller can prepare its next batch in the meantime.
 */
export async function copyLines(client: pg.ClientBase, copySql: string, lines: string[], onSent?: () => void): Promise<number> {
  const payload = chunkLines(lines);
  return new Promise<number>((resolve, reject) => {
    client.query(new CopyFromStdin(copySql, payload, (error, count) => (error ? reject(error) : resolve(count)), onSent) as never);
  });
}

/** COPY of rows already encoded as bytes (see encodeRows / selectRows). */
export async function copyChunks(client: pg.ClientBase, copySql: string, chunks: Buffer[], onSent?: () => void): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    client.query(new CopyFromStdin(copySql, chunks, (error, count) => (error ? reject(error) : resolve(count)), onSent) as never);
  });
}

/**
 * Rows encoded once, straight into COPY bytes (no intermediate line strings): row i occupies
 * chunks[chunk[i]][start[i], end[i]) including its newline; chunk[i] is -1 for rows left out.
 */
export interface EncodedRows {
  chunks: Buffer[];
  chunk: Int32Array;
  start: Int32Array;
  end: Int32Array;
}

const CHUNK_BYTES = 1 << 20;

/**
 * Encodes rows as COPY text bytes. After a row's values, `tail(index, bytes)` receives the encoded values (e.g. to
 * hash them) and returns text appended to the line (ASCII, e.g. more tab-separated fields).
 */
export function encodeRows(rows: Array<WireValue[] | null>, tail: (index: number, encoded: Buffer) => string): EncodedRows {
  const encoded: EncodedRows = { chunks: [], chunk: new Int32Array(rows.length).fill(-1), start: new Int32Array(rows.length), end: new Int32Array(rows.length) };
  let buffer = Buffer.alloc(0);
  let used = 0;
  let current = -1;
  for (let index = 0; index < rows.length; index++) {
    const values = rows[index];
    if (!values) continue;
    // Worst case: 3 bytes per UTF-16 unit (escapes need 2 per escaped unit), separators, and a tail under 128 bytes.
    let most = 128 + values.length * 3;
    for (const value of values) if (value !== null) most += value.length * 3;
    if (current === -1 || used + most > buffer.length) {
      if (current !== -1) encoded.chunks[current] = buffer.subarray(0, used);
      buffer = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, most));
      used = 0;
      current = encoded.chunks.length;
      encoded.chunks.push(buffer);
    }
    const start = used;
    for (let i = 0; i < values.length; i++) {
      if (i > 0) buffer[used++] = 9;
      const value = values[i]!;
      if (value === null) {
        buffer[used++] = 92;
        buffer[used++] = 78;
      } else if (value.length > 0) {
        used += buffer.write(needsEscape.test(value) ? escapeField(value) : value, used, 'utf8');
      }
    }
    used += buffer.write(tail(index, buffer.subarray(start, used)), used, 'latin1');
    buffer[used++] = 10;
    encoded.chunk[index] = current;
    encoded.start[index] = start;
    encoded.end[index] = used;
  }
  if (current !== -1) encoded.chunks[current] = buffer.subarray(0, used);
  return encoded;
}

/** The COPY bytes of the rows at `indexes`: the page's own buffers when that is every encoded row, else a copy. */
export function selectRows(encoded: EncodedRows, indexes: number[]): Buffer[] {
  let everyRow = true;
  let count = 0;
  for (let i = 0; i < encoded.chunk.length; i++) if (encoded.chunk[i] !== -1) count++;
  if (count !== indexes.length) everyRow = false;
  else for (let i = 1; i < indexes.length; i++) if (indexes[i]! <= indexes[i - 1]!) everyRow = false;
  if (everyRow) return encoded.chunks.filter((chunk) => chunk.length > 0);
  const result: Buffer[] = [];
  let parts: Buffer[] = [];
  let size = 0;
  for (const index of indexes) {
    const chunk = encoded.chunk[index]!;
    if (chunk === -1) continue;
    const part = encoded.chunks[chunk]!.subarray(encoded.start[index], encoded.end[index]);
    parts.push(part);
    size += part.length;
    if (size >= CHUNK_BYTES) {
      result.push(Buffer.concat(parts, size));
      parts = [];
      size = 0;
    }
  }
  if (parts.length > 0) result.push(Buffer.concat(parts, size));
  return result;
}

/** One row as a COPY text line (without the newline): tab-separated, `\N` for null, escapes for \, tab, LF, CR. */
export function encodeCopyLine(row: WireValue[]): string {
  let line = '';
  for (let i = 0; i < row.length; i++) {
    if (i > 0) line += '\t';
    line += encodeField(row[i]!);
  }
  return line;
}

/** Lines joined with newlines into buffers of about 1 MiB, each line encoded once, straight into its buffer. */
function chunkLines(lines: string[]): Buffer[] {
  const chunks: Buffer[] = [];
  const size = 1 << 20;
  let buffer = Buffer.allocUnsafe(size);
  let used = 0;
  for (const line of lines) {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; a line that may not fit goes into the next (or its own) buffer.
    const most = line.length * 3 + 1;
    if (used + most > buffer.length) {
      if (used > 0) chunks.push(buffer.subarray(0, used));
      buffer = Buffer.allocUnsafe(Math.max(size, most));
      used = 0;
    }
    used += buffer.write(line, used, 'utf8');
    buffer[used++] = 10;
  }
  if (used > 0) chunks.push(buffer.subarray(0, used));
  return chunks;
}

const needsEscape = /[\\\t\n\r]/;

function encodeField(value: WireValue): string {
  if (value === null) return '\\N';
  if (!needsEscape.test(value)) return value;
  return escapeField(value);
}

function escapeField(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

interface PgConnection {
  stream?: { writableLength?: number };
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
}

/** Runs `work` once the socket has handed everything to the kernel (a blocked event loop would stall the rest). */
function whenFlushed(stream: { writableLength?: number } | undefined, work: () => void, deadline = Date.now() + 2000): void {
  if (!stream || !stream.writableLength || Date.now() > deadline) setImmediate(work);
  else setImmediate(() => whenFlushed(stream, work, deadline));
}

class CopyFromStdin {
  private rowCount = 0;
  private done = false;

  constructor(
    readonly text: string,
    private readonly chunks: Buffer[],
    private readonly onDone: (error: Error | null, count: number) => void,
    private readonly onSent?: () => void,
  ) {}

  submit(connection: PgConnection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: PgConnection): void {
    for (const chunk of this.chunks) connection.sendCopyFromChunk(chunk);
    connection.endCopyFrom();
    if (this.onSent) whenFlushed(connection.stream, this.onSent);
  }

  handleCommandComplete(message: { text?: string }): void {
    const match = /^COPY (\d+)/.exec(message.text ?? '');
    if (match) this.rowCount = Number(match[1]);
  }

  handleError(error: Error): void {
    this.finish(error);
  }

  handleReadyForQuery(): void {
    this.finish(null);
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  private finish(error: Error | null): void {
    if (this.done) return;
    this.done = true;
    this.onDone(error, this.rowCount);
  }
}
