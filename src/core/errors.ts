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
  if (error instanceof Error) return redactSecretsInText(error.message);
  return redactSecretsInText(String(error));
}

const credentialsInUrl = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)([^\s@/]+)@/gi;

/** Replaces the password of every `scheme://user:password@host` in a text with `***`. */
export function redactConnectionStrings(text: string): string {
  return text.replace(credentialsInUrl, '$1***@');
}

// JWTs (Supabase anon/service_role keys, user access tokens), Supabase's new secret keys, and bearer credentials.
const jwtLike = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;
const supabaseSecretKey = /\bsb_secret_[A-Za-z0-9_-]{8,}/g;
const bearerCredential = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;

/** Connection-string passwords, JWTs, Supabase secret keys and bearer credentials cut out of free text. */
export function redactSecretsInText(text: string): string {
  return redactConnectionStrings(text)
    .replace(jwtLike, '[redacted jwt]')
    .replace(supabaseSecretKey, 'sb_secret_[redacted]')
    .replace(bearerCredential, '$1 [redacted]');
}
