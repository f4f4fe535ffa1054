import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (the folder holding package.json), from source (src/core) or from the build (dist). */
export function packageRoot(): string {
  const here = typeof __dirname === 'string' ? __dirname : path.dirname(fileURLToPath(import.meta.url));
  let dir = here;
  for (let i = 0; i < 5; i += 1) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'supabase'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`librechat-supabase: cannot find the package root above ${here}`);
}

export function migrationsDir(): string {
  return path.join(packageRoot(), 'supabase', 'migrations');
}

/** This package's version (from its package.json, wherever the code was bundled to). */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}
