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
