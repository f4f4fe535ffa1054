import { createRequire, register } from 'node:module';
import type mongoose from 'mongoose';

/**
 * `@librechat/data-schemas` imports `dotenv/config` at load time (LibreChat has dotenv; it is not a declared
 * dependency of the package). When dotenv is not installed, resolve that one import to an empty module so the real
 * schemas still load. Nothing else is replaced.
 */
function shimDotenvWhenMissing(): void {
  try {
    createRequire(import.meta.url).resolve('dotenv/config');
  } catch {
    const hooks = `export async function resolve(specifier, context, next) {
      if (specifier === 'dotenv/config') return { url: 'data:text/javascript,export{}', shortCircuit: true };
      return next(specifier, context);
    }`;
    register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  }
}

/** LibreChat's real User model (from @librechat/data-schemas) on a dedicated connection to one test database. */
export async function librechatUserModel(url: string): Promise<{ User: mongoose.Model<any>; connection: mongoose.Connection }> {
  shimDotenvWhenMissing();
  const { default: mongooseLib } = await import('mongoose');
  const { createModels } = await import('@librechat/data-schemas');
  const connection = mongooseLib.createConnection(url, { serverSelectionTimeoutMS: 10_000, autoIndex: false });
  await connection.asPromise();
  // createModels registers on whatever has .model()/.models: a Connection keeps these models off the global mongoose.
  const models = createModels(connection as unknown as typeof mongooseLib) as unknown as { User: mongoose.Model<any> };
  return { User: models.User, connection };
}
