/** What every provisioner (direct Mongo, LibreChat's HTTP API) is given and answers. */
export interface ProvisionRequest {
  /** The source user id (for messages; never sent to LibreChat). */
  supabaseUserId: string;
  /** Lower-cased. */
  email: string;
  name: string;
  username: string;
  /** The plaintext password to set, or null for SSO users (--no-password). Never logged. */
  password: string | null;
  /** LibreChat tenant when organizations map to tenants. */
  tenantId: string | null;
}

export interface ProvisionResult {
  librechatUserId: string;
  /** True when a LibreChat user with this email already existed and was linked instead of created. */
  adopted: boolean;
}

export interface Provisioner {
  readonly kind: 'mongo' | 'http';
  /** Fails fast with a clear LcsError when LibreChat cannot be reached or is misconfigured. */
  check(): Promise<void>;
  provision(request: ProvisionRequest): Promise<ProvisionResult>;
  close(): Promise<void>;
}

/**
 * A provisioning failure. `retryable` failures (network, 5xx, rate limit) are retried by the workflow step;
 * the others (validation, registration disabled, wrong existing password) fail the user at once.
 */
export class ProvisionError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'ProvisionError';
  }
}

/** LibreChat's rules for names: 3–80 characters (register validation); fall back to the email's local part. */
export function librechatName(name: string | null, email: string): string {
  const candidates = [name?.trim(), email.split('@')[0], email];
  const chosen = candidates.find((candidate): candidate is string => !!candidate && candidate.length >= 3) ?? `${email}___`;
  return chosen.slice(0, 80);
}

/** A LibreChat username: lower-case, from the email's local part (as LibreChat's create-user script defaults it). */
export function librechatUsername(email: string): string {
  return (email.split('@')[0] ?? email).toLowerCase().slice(0, 80);
}
