import type { Request, RequestHandler, Response } from 'express';
import type { AccessControl } from './access-control.js';
import type { LibreChatModels, LibreChatVersion } from './models.js';

/** Role capabilities LibreChat reads from the role document / librechat.yaml `interface` section. */
export interface RoleCapabilities {
  /** `AGENTS.SHARE` / `PROMPTS.SHARE`: may share with users and groups (LibreChat's USER default: false). */
  share: boolean;
  /** `SHARE_PUBLIC` (v0.8) / `SHARED_GLOBAL` (v0.7): may share with everyone (LibreChat's USER default: false). */
  sharePublic: boolean;
}

/** Everything a router of the double needs. */
export interface DoubleContext {
  version: LibreChatVersion;
  models: LibreChatModels;
  acl: AccessControl;
  requireJwtAuth: RequestHandler;
  /** Tool names the deployment has (LibreChat keeps only known tools on create). */
  availableTools: ReadonlySet<string>;
  /** Capabilities of non-ADMIN users (ADMIN has all). */
  roleCapabilities: RoleCapabilities;
  /** LibreChat's `promptUsageLimiter` (30 per minute per user); null turns it off. */
  promptUsageLimitPerMinute: number | null;
  /** v0.7: `_id` of the global project `instance`. */
  globalProjectId: string | null;
}

/** Wraps a handler like LibreChat's controllers: any thrown error answers 500 `{error: message}`. */
export function handler(work: (req: Request, res: Response) => Promise<unknown>): RequestHandler {
  return async (req, res) => {
    try {
      await work(req, res);
    } catch (error) {
      if (!res.headersSent) res.status(500).json({ error: error instanceof Error ? error.message : String(error) });
      else res.end();
    }
  };
}

/** LibreChat's `removeNullishValues`: drops top-level null/undefined keys. */
export function withoutNullish<T extends Record<string, unknown>>(value: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) if (field !== null && field !== undefined) out[key] = field;
  return out as Partial<T>;
}
