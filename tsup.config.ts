import { defineConfig } from 'tsup';

// The library ships as ESM and CommonJS (LibreChat's api/ is CommonJS); the CLI is ESM only.
// ESM-only dependencies are bundled so that require('librechat-supabase') works on every Node >= 20.
const esmOnlyDependencies = ['p-queue', 'p-timeout', 'eventemitter3'];

export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    noExternal: esmOnlyDependencies,
    shims: true,
  },
  {
    entry: {
      cli: 'src/cli.ts',
      'bin/check-librechat-sync-status': 'src/bin/check-librechat-sync-status.ts',
      'bin/sync-legacy-users-to-librechat': 'src/bin/sync-legacy-users-to-librechat.ts',
    },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
