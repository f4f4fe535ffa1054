import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';

/** The Mongo-wire server of this run, or null with the reason (tests then `describe.skipIf`). */
export function mongoServer(): { url: string | null; reason: string | null } {
  return { url: inject('mongoUrl'), reason: inject('mongoUnavailableReason') };
}

/** A connection string to a database of its own for one test file. */
export function mongoDatabaseUrl(base: string, prefix = 'lcs'): string {
  const url = new URL(base);
  url.pathname = `/${prefix}_${randomBytes(5).toString('hex')}`;
  return url.toString();
}
