/**
 * The LibreChat double for tests: LibreChat v0.8.x (or v0.7.x) route shapes and access control on LibreChat's real
 * mongoose models. See README.md in this folder for what it reproduces and what it simplifies.
 */
export { createLibreChatDouble } from './double.js';
export type { CreateGroupInput, CreateUserInput, DoubleUser, LibreChatDouble, LibreChatDoubleOptions } from './double.js';
export { PermissionBits } from './access-control.js';
export type { AccessControl, Principal, PrincipalType, ResourceType } from './access-control.js';
export type { LibreChatUser } from './auth.js';
export { CHAT_FAILURES } from './chat.js';
export type { RoleCapabilities } from './context.js';
export { ACCESS_ROLES, GLOBAL_PROJECT_NAME } from './models.js';
export type { Doc, LibreChatModels, LibreChatVersion, SkippedIndex } from './models.js';
