/**
 * Every failure the package reports on purpose is an LcsError: a stable code (LCS_…), a message that says
 * what is wrong, and a hint that says how to fix it. Hosts can branch on `code`; people read `message`.
 */
export class LcsError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(options.hint ? `${message}\n  → ${options.hint}` : message, { cause: options.cause });
    this.name = 'LcsError';
    this.code = code;
    this.hint = options.hint;
  }
}

export function isLcsError(error: unknown): error is LcsError {
  return error instanceof LcsError;
}

/** A short, secret-free description of any thrown value, for logs and CLI output. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return redactConnectionStrings(error.message);
  return redactConnectionStrings(String(error));
}

const credentialsInUrl = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)([^\s@/]+)@/gi;

/** Replaces the password of every `scheme://user:password@host` in a text with `***`. */
export function redactConnectionStrings(text: string): string {
  return text.replace(credentialsInUrl, '$1***@');
}
