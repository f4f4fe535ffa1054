/**
 * librechat-supabase — public entry point (ESM and CommonJS).
 * Capabilities export their public surface here; internal modules are not part of the API.
 */
export { loadConfig, describeConfig, SETTINGS, type Config, type SettingName, type LoadConfigOptions } from './core/config.js';
export { LcsError, isLcsError, describeError } from './core/errors.js';
export { createLogger, redact, silentLogger, type HostLogger, type Logger } from './core/logger.js';
export { createPool, withTransaction, quoteIdent, validateIdentifier } from './core/database.js';
export { migrate, pendingMigrations, readMigrations, type Migration, type MigrateResult } from './core/migrations.js';
export { createSyncService, type SyncService, type ServicePlugin, type SyncServiceContext } from './service/server.js';
export { inferCategory, extractVariables, resolveCategory, DEFAULT_CATEGORIES, GENERAL_CATEGORY, LIBRECHAT_SPECIAL_VARIABLES, type CategorizableItem, type CategoryInference, type InferCategoryOptions, type Taxonomy, type CategoryDefinition, type CategorySource, type ResolveCategoryInput, type ResolvedCategory, type PromptVariable } from './infer/index.js';
export {
  createLibreChatSupabase,
  syncToSupabase,
  trackUsage,
  injectOrganizationAgents,
  injectOrganizationPrompts,
  type LibreChatSupabase,
  type LibraryHealth,
} from './library/client.js';
export type { LibreChatSupabaseOptions } from './library/options.js';
export type { SharingPolicy, SharingContext } from './library/sync.js';
export { syncTenant, type SyncOptions, type SyncResult, type SyncProgress, type TableResult } from './tenants/engine.js';
export { registerTenant, startTenant, pauseTenant, deregisterTenant, type RegisterInput, type RegisterResult } from './tenants/lifecycle.js';
export { tenantStatus, allTenantStatuses, type TenantStatus } from './tenants/status.js';
export { validateTenantName } from './tenants/names.js';
export { parseTenantConfig, type TenantConfig, type TenantConfigInput } from './tenants/config.js';
export type { OrganizationAccessOptions, InjectOptions } from './library/access-options.js';
export type { OrganizationAccess, OrganizationAccessHealth } from './library/access.js';
export { pullTemplates, describePullItem, type PullReport, type PullItem, type PullOptions } from './library/pull.js';
export { syncOrganizationAccess, type AccessSyncReport, type AccessSyncOptions, type AccessChange } from './library/grants.js';
export { organizationAccessPlugin } from './library/access-plugin.js';
export { createOrganizationInjector, type OrganizationInjector, type InjectStats } from './inject/index.js';
export { encrypt as fernetEncrypt, decrypt as fernetDecrypt, generateFernetKey, parseFernetKey } from './users/fernet.js';
export { tenantSyncPlugin, type TenantServiceOptions } from './tenants/service.js';
