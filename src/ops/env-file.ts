import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * Reading and merging dotenv files (`.env`) the way dotenv and docker compose read them: `NAME=value` lines,
 * optional `export `, quoted values, `#` comments. Merging edits only the lines it must, so every other line,
 * comment and blank line of the operator's file survives byte for byte.
 */

const assignment = /^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)(\s*=\s*)(.*)$/;

/** The value of one assignment line's right-hand side: quotes removed, an unquoted trailing ` # comment` dropped. */
export function parseEnvValue(raw: string): string {
  const text = raw.trim();
  if (text.startsWith('#')) return '';
  const quote = text[0];
  if ((quote === '"' || quote === "'" || quote === '`') && text.length >= 2) {
    const end = text.indexOf(quote, 1);
    if (end > 0) return text.slice(1, end);
  }
  const comment = text.search(/\s#/);
  return (comment >= 0 ? text.slice(0, comment) : text).trim();
}

/** Every variable a dotenv text assigns; when a name repeats, the last assignment wins (as dotenv does). */
export function parseEnvText(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = assignment.exec(line);
    if (match) values[match[2]!] = parseEnvValue(match[4]!);
  }
  return values;
}

export function readEnvFile(file: string): Record<string, string> {
  return parseEnvText(readFileSync(file, 'utf8'));
}

export interface MergeOptions {
  /** Replace values that are already set (non-empty). Default false: keep them. */
  force?: boolean;
  /** Comment written above variables that have to be appended. */
  header?: string;
}

export interface MergeResult {
  text: string;
  /** Variables that had no line and were appended. */
  added: string[];
  /** Variables whose line existed with an empty value and was filled in place. */
  filled: string[];
  /** Variables whose non-empty value was replaced (only with force). */
  replaced: string[];
  /** Variables whose non-empty value was kept (without force). */
  kept: string[];
}

/**
 * Merges `values` into a dotenv text. Existing lines are edited in place (the last assignment of a name, the one
 * that wins); names without a line are appended. A non-empty value is only replaced with `force`.
 */
export function mergeEnvText(original: string, values: Record<string, string>, options: MergeOptions = {}): MergeResult {
  const newline = original.includes('\r\n') ? '\r\n' : '\n';
  const lines = original.length === 0 ? [] : original.split(/\r?\n/);
  const endsWithNewline = original.length === 0 || original.endsWith('\n');
  if (endsWithNewline && lines.length > 0 && lines[lines.length - 1] === '') lines.pop();

  const lastLineOf = new Map<string, number>();
  lines.forEach((line, index) => {
    const match = assignment.exec(line);
    if (match) lastLineOf.set(match[2]!, index);
  });

  const result: MergeResult = { text: '', added: [], filled: [], replaced: [], kept: [] };
  const appended: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    const index = lastLineOf.get(name);
    if (index === undefined) {
      appended.push(`${name}=${value}`);
      result.added.push(name);
      continue;
    }
    const match = assignment.exec(lines[index]!)!;
    const current = parseEnvValue(match[4]!);
    if (current !== '' && !options.force) {
      result.kept.push(name);
      continue;
    }
    lines[index] = `${match[1]}${name}=${value}`;
    (current === '' ? result.filled : result.replaced).push(name);
  }

  if (appended.length > 0) {
    if (lines.length > 0 && lines[lines.length - 1]!.trim() !== '') lines.push('');
    if (options.header) lines.push(`# ${options.header}`);
    lines.push(...appended);
  }
  result.text = lines.length === 0 ? '' : `${lines.join(newline)}${newline}`;
  return result;
}

/**
 * Writes a file that holds secrets: mode 0600, atomically (a temporary file in the same folder, fsync, rename), so
 * a crash never leaves a half-written .env and no other user can read it at any moment.
 */
export function writeSecretFileAtomic(file: string, text: string): void {
  const target = existsSync(file) ? realpathSync(file) : path.resolve(file);
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    chmodSync(temporary, 0o600); // openSync's mode passes through the umask; make it exactly 0600
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
