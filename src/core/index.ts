export * from './config.js';
export * from './errors.js';
export * from './logger.js';
export * from './database.js';
export * from './migrations.js';
export * from './supabase-compat.js';
export * from './paths.js';
