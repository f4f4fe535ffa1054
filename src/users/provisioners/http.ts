import { LcsError, describeError } from '../../core/errors.js';
import { ProvisionError, type ProvisionRequest, type ProvisionResult, type Provisioner } from './types.js';

/**
 * Provisions through LibreChat's public API: `POST /api/auth/register`, then `POST /api/auth/login` to learn the id.
 * Slow and limited by design (LibreChat's register limiter: REGISTER_MAX=5 per REGISTER_WINDOW=60 minutes per IP by
 * default), so it is the fallback when LibreChat's MongoDB cannot be reached directly. Register answers an existing
 * email with the same 200 as a success, so only the login tells whether our password is the one LibreChat holds.
 */

export interface HttpProvisionerOptions {
  baseUrl: string;
  /** Longest single wait on a 429 before giving up on that user (ms). */
  maxRateLimitWaitMs?: number;
  /** How many 429 answers one user may wait through. */
  maxRateLimitWaits?: number;
  requestTimeoutMs?: number;
  /** Injected for tests of the back-off; default a real timer. */
  sleep?: (ms: number) => Promise<void>;
}

const RATE_LIMIT_HELP =
  'LibreChat limits registrations per IP (REGISTER_MAX, default 5, per REGISTER_WINDOW, default 60 minutes). ' +
  'Raise REGISTER_MAX/REGISTER_WINDOW in LibreChat\'s .env for the backfill, or use --provisioner mongo (LIBRECHAT_MONGO_URI), which has no limit.';

export class HttpProvisioner implements Provisioner {
  readonly kind = 'http' as const;
  private readonly baseUrl: string;
  private readonly maxWaitMs: number;
  private readonly maxWaits: number;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: HttpProvisionerOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.maxWaitMs = options.maxRateLimitWaitMs ?? 60_000;
    this.maxWaits = options.maxRateLimitWaits ?? 5;
    this.timeoutMs = options.requestTimeoutMs ?? 15_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async check(): Promise<void> {
    try {
      const response = await fetch(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (!response.ok) throw new Error(`GET /health answered ${response.status}`);
    } catch (error) {
      throw new LcsError('LCS_LIBRECHAT_UNREACHABLE', `LibreChat is not reachable at ${this.baseUrl}: ${describeError(error)}`, {
        hint: 'Check LIBRECHAT_API_URL (e.g. http://librechat:3080) and that LibreChat is running.',
        cause: error,
      });
    }
  }

  async provision(request: ProvisionRequest): Promise<ProvisionResult> {
    if (request.password === null) {
      throw new ProvisionError('The http provisioner cannot create SSO users (--no-password): LibreChat\'s register API requires a password. Use --provisioner mongo.', false);
    }
    const register = await this.post('/api/auth/register', {
      name: request.name,
      username: request.username,
      email: request.email,
      password: request.password,
      confirm_password: request.password,
    });
    if (register.status === 403) {
      throw new ProvisionError('LibreChat refused the registration (403): registration is disabled. Set ALLOW_REGISTRATION=true in LibreChat\'s .env during the backfill, or use --provisioner mongo.', false);
    }
    if (register.status === 404) {
      throw new ProvisionError(`LibreChat rejected the registration data (404 is its validation failure: name 3–80 characters, valid email, password 8–128)${register.message ? `: ${register.message}` : ''}.`, false);
    }
    if (register.status !== 200 && register.status !== 201) throw unexpected('register', register);

    // 200 also means "this email already exists": the login decides whether the account is ours.
    const login = await this.post('/api/auth/login', { email: request.email, password: request.password });
    if (login.status === 200) {
      const body = login.body as { user?: { id?: string; _id?: string }; twoFAPending?: boolean } | null;
      if (body?.twoFAPending) {
        throw new ProvisionError('The LibreChat account for this email has two-factor authentication enabled; the http provisioner cannot finish its login. Use --provisioner mongo.', false);
      }
      const id = body?.user?.id ?? body?.user?._id;
      if (!id) throw new ProvisionError('LibreChat answered the login without a user id', true);
      return { librechatUserId: String(id), adopted: false };
    }
    if (login.status === 404 || login.status === 422 || login.status === 401) {
      throw new ProvisionError(
        `LibreChat already has an account for this email with another password (register answers 200 for an existing email, login then fails with ${login.status}). ` +
          'Use --provisioner mongo to adopt existing accounts.',
        false,
      );
    }
    throw unexpected('login', login);
  }

  /** POSTs JSON; waits out 429s (Retry-After / RateLimit-Reset) up to the configured limits, explaining why. */
  private async post(path: string, body: unknown): Promise<{ status: number; body: unknown; message: string }> {
    for (let waits = 0; ; waits += 1) {
      let response: Response;
      try {
        response = await fetch(`${this.baseUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code;
        throw new ProvisionError(`LibreChat is not reachable at ${this.baseUrl} (${cause ?? describeError(error)})`, true);
      }
      const text = await response.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      const message = typeof (parsed as { message?: unknown })?.message === 'string' ? (parsed as { message: string }).message : '';
      if (response.status !== 429) return { status: response.status, body: parsed, message };

      const waitMs = retryAfterMs(response.headers);
      if (waits >= this.maxWaits || waitMs > this.maxWaitMs) {
        throw new ProvisionError(
          `LibreChat rate-limited ${path} (429${waitMs ? `, retry in ${Math.ceil(waitMs / 1000)} s` : ''}). ${RATE_LIMIT_HELP}`,
          false,
        );
      }
      await this.sleep(waitMs || 1_000 * 2 ** waits);
    }
  }

  async close(): Promise<void> {}
}

function unexpected(step: string, answer: { status: number; message: string }): ProvisionError {
  return new ProvisionError(`LibreChat ${step} answered ${answer.status}${answer.message ? `: ${answer.message}` : ''}`, answer.status >= 500);
}

/** Milliseconds to wait from Retry-After (seconds or a date) or the RateLimit-Reset header LibreChat's limiter sends. */
export function retryAfterMs(headers: Headers): number {
  const retryAfter = headers.get('retry-after');
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  }
  const reset = Number(headers.get('ratelimit-reset'));
  return Number.isFinite(reset) && reset > 0 ? reset * 1000 : 0;
}
