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

/** One row as a COPY text line (without the newline): tab-separated, `\N` for null, escapes for \, tab, LF, CR. */
export function encodeCopyLine(row: WireValue[]): string {
  let line = '';
  for (let i = 0; i < row.length; i++) {
    if (i > 0) line += '\t';
    line += encodeField(row[i]!);
  }
  return line;
}

function chunkLines(lines: string[]): Buffer[] {
  const chunks: Buffer[] = [];
  let start = 0;
  let size = 0;
  for (let i = 0; i < lines.length; i++) {
    size += lines[i]!.length + 1;
    if (size > 1 << 20) {
      chunks.push(Buffer.from(`${lines.slice(start, i + 1).join('\n')}\n`, 'utf8'));
      start = i + 1;
      size = 0;
    }
  }
  if (start < lines.length) chunks.push(Buffer.from(`${lines.slice(start).join('\n')}\n`, 'utf8'));
  return chunks;
}

const needsEscape = /[\\\t\n\r]/;

function encodeField(value: WireValue): string {
  if (value === null) return '\\N';
  if (!needsEscape.test(value)) return value;
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
