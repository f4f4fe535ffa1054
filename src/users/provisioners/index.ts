import { LcsError } from '../../core/errors.js';
import type { PasswordHasher } from '../password-hasher.js';
import { HttpProvisioner } from './http.js';
import { MongoProvisioner } from './mongo.js';
import { ProvisionError, type ProvisionRequest, type ProvisionResult, type Provisioner } from './types.js';

export { HttpProvisioner, MongoProvisioner, ProvisionError };
export type { ProvisionRequest, ProvisionResult, Provisioner };

export type ProvisionerKind = 'mongo' | 'http';

export interface ProvisionerSettings {
  kind?: ProvisionerKind;
  librechatMongoUri?: string;
  librechatApiUrl?: string;
  ssoProvider?: string;
  hasher?: PasswordHasher;
  serverSelectionTimeoutMS?: number;
}

/** `mongo` when LIBRECHAT_MONGO_URI is set (fast, adopts by email), else `http` (LibreChat's register API). */
export function createProvisioner(settings: ProvisionerSettings): Provisioner {
  const kind = settings.kind ?? (settings.librechatMongoUri ? 'mongo' : settings.librechatApiUrl ? 'http' : undefined);
  if (kind === 'mongo') {
    if (!settings.librechatMongoUri) {
      throw new LcsError('LCS_CONFIG_INVALID', 'The mongo provisioner needs LIBRECHAT_MONGO_URI.', {
        hint: "Set LIBRECHAT_MONGO_URI to LibreChat's MONGO_URI, e.g. mongodb://mongodb:27017/LibreChat",
      });
    }
    return new MongoProvisioner({
      uri: settings.librechatMongoUri,
      ssoProvider: settings.ssoProvider,
      hasher: settings.hasher,
      serverSelectionTimeoutMS: settings.serverSelectionTimeoutMS,
    });
  }
  if (kind === 'http') {
    if (!settings.librechatApiUrl) {
      throw new LcsError('LCS_CONFIG_INVALID', 'The http provisioner needs LIBRECHAT_API_URL.', {
        hint: 'Set LIBRECHAT_API_URL, e.g. http://librechat:3080 — or set LIBRECHAT_MONGO_URI to use the faster mongo provisioner.',
      });
    }
    return new HttpProvisioner({ baseUrl: settings.librechatApiUrl });
  }
  throw new LcsError('LCS_CONFIG_INVALID', 'No way to reach LibreChat: neither LIBRECHAT_MONGO_URI nor LIBRECHAT_API_URL is set.', {
    hint: "Set LIBRECHAT_MONGO_URI (LibreChat's MONGO_URI; recommended) or LIBRECHAT_API_URL (its register API; slow, rate-limited).",
  });
}

/**
 * Stops hammering a LibreChat that is down: after `threshold` consecutive retryable failures (or a failed
 * pre-flight check) every user fails at once with the last reason, not retried, until `cooldownMs` has passed.
 * Each user still gets its own recorded error, and `users sync --retry-failed` picks them up later.
 */
export class CircuitBreaker implements Provisioner {
  private consecutiveFailures = 0;
  private openUntil = 0;
  private lastReason = '';

  constructor(
    private readonly inner: Provisioner,
    private readonly threshold = 5,
    private readonly cooldownMs = 30_000,
  ) {}

  get kind(): ProvisionerKind {
    return this.inner.kind;
  }

  get isOpen(): boolean {
    return Date.now() < this.openUntil;
  }

  /** Opens the circuit now (the pre-flight check failed). */
  trip(reason: string): void {
    this.lastReason = reason;
    this.openUntil = Date.now() + this.cooldownMs;
  }

  check(): Promise<void> {
    return this.inner.check();
  }

  async provision(request: ProvisionRequest): Promise<ProvisionResult> {
    if (this.isOpen) {
      throw new ProvisionError(`LibreChat unreachable, not attempted: ${this.lastReason}`, false);
    }
    try {
      const result = await this.inner.provision(request);
      this.consecutiveFailures = 0;
      return result;
    } catch (error) {
      if (error instanceof ProvisionError && error.retryable) {
        this.consecutiveFailures += 1;
        this.lastReason = error.message;
        if (this.consecutiveFailures >= this.threshold) this.trip(error.message);
      }
      throw error;
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
