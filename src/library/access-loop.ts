import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { AccessDirectory } from './access-directory.js';
import { syncOrganizationAccess, type AccessSyncReport, type OrganizationAccessContext } from './grants.js';
import { pullTemplates, type PullContext, type PullReport } from './pull.js';

export interface AccessLoopHealth {
  enabled: boolean;
  intervalMs: number;
  runs: number;
  lastRunAt: string | null;
  lastFullRunAt: string | null;
  lastError: string | null;
  consecutiveFailures: number;
  lastChangedOrganizations: number;
}

export interface AccessPassResult {
  full: boolean;
  organizations: string[] | 'all';
  pull: PullReport[];
  access: AccessSyncReport | null;
}

/**
 * Brings Supabase-side changes to LibreChat within seconds: every `intervalMs` it asks Supabase for a change marker
 * per organization (one cheap query) and, for the organizations that changed, pulls their templates and syncs their
 * group members and grants. Every `fullSyncIntervalMs` it does all organizations and sweeps orphans, which also
 * repairs changes made on LibreChat's side. Passes never overlap; errors are logged once and retried next time.
 */
export class OrganizationAccessLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | null = null;
  private stopped = true;
  private fingerprints = new Map<string, string>();
  private lastFullAt = 0;
  private readonly state: AccessLoopHealth;

  constructor(
    private readonly deps: {
      directory: AccessDirectory;
      access: OrganizationAccessContext;
      pull: PullContext;
      /** Templates are pulled only with a service user to own them. */
      canPull: () => boolean;
      logger: Logger;
    },
    private readonly options: { intervalMs: number; fullSyncIntervalMs: number },
  ) {
    this.state = {
      enabled: options.intervalMs > 0,
      intervalMs: options.intervalMs,
      runs: 0,
      lastRunAt: null,
      lastFullRunAt: null,
      lastError: null,
      consecutiveFailures: 0,
      lastChangedOrganizations: 0,
    };
  }

  start(): void {
    if (this.options.intervalMs <= 0 || !this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Runs a pass soon (e.g. after a change that should reach LibreChat quickly). */
  kick(): void {
    if (!this.stopped && !this.running) this.schedule(0);
  }

  /** One pass now: changed organizations (or all with `full`). Waits for a pass already running first. */
  async runOnce(options: { full?: boolean } = {}): Promise<AccessPassResult> {
    while (this.running) await this.running.catch(() => undefined);
    const pass = this.pass(options.full ?? false);
    this.running = pass;
    try {
      return await pass;
    } finally {
      this.running = null;
    }
  }

  health(): AccessLoopHealth {
    return { ...this.state };
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.runOnce();
    } catch {
      // recorded in state and logged by pass()
    } finally {
      if (!this.stopped) this.schedule(this.options.intervalMs);
    }
  }

  private async pass(forceFull: boolean): Promise<AccessPassResult> {
    const { directory, logger } = this.deps;
    try {
      const current = new Map(Object.entries(await directory.fingerprints()));
      const full = forceFull || this.lastFullAt === 0 || Date.now() - this.lastFullAt >= this.options.fullSyncIntervalMs
        || [...this.fingerprints.keys()].some((id) => !current.has(id)); // an organization was deleted: sweep
      const changed = full ? null : [...current].filter(([id, mark]) => this.fingerprints.get(id) !== mark).map(([id]) => id);
      const result: AccessPassResult = { full, organizations: changed ?? 'all', pull: [], access: null };
      this.state.lastChangedOrganizations = changed ? changed.length : current.size;
      if (changed && changed.length === 0) {
        this.finish(false);
        return result;
      }
      if (this.deps.canPull()) {
        if (changed) for (const organizationId of changed) result.pull.push(await pullTemplates(this.deps.pull, { organizationId }));
        else result.pull.push(await pullTemplates(this.deps.pull));
      }
      result.access = await syncOrganizationAccess(this.deps.access, { organizationIds: changed ?? undefined });
      // Only now: a failed pass leaves the markers as they were, so the same organizations are retried.
      this.fingerprints = current;
      if (full) this.lastFullAt = Date.now();
      this.finish(full);
      return result;
    } catch (error) {
      this.state.consecutiveFailures += 1;
      this.state.lastError = describeError(error);
      if (this.state.consecutiveFailures === 1) {
        logger.warn('organization access loop failed; retrying every interval', { error });
      } else {
        logger.debug('organization access loop failed again', { error, consecutiveFailures: this.state.consecutiveFailures });
      }
      throw error;
    }
  }

  private finish(full: boolean): void {
    if (this.state.consecutiveFailures > 0) this.deps.logger.info('organization access loop recovered', { after: this.state.consecutiveFailures });
    this.state.consecutiveFailures = 0;
    this.state.lastError = null;
    this.state.runs += 1;
    this.state.lastRunAt = new Date().toISOString();
    if (full) this.state.lastFullRunAt = this.state.lastRunAt;
  }
}
