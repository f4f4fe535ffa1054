import type { Command } from 'commander';

/**
 * Command groups whose capabilities are not built yet. Their help says so, and running them says so with exit
 * code 2, instead of pretending to work. Each entry is removed when its capability registers real commands.
 */
const PLANNED: Array<{ name: string; description: string }> = [
  { name: 'users', description: 'Legacy user backfill: status and sync of Supabase users into LibreChat (not available yet)' },
  { name: 'tenants', description: 'Tenant sync: register chat deployments and sync them into per-tenant schemas (not available yet)' },
  { name: 'library', description: 'Library sync maintenance: reconcile and pull (not available yet)' },
  { name: 'doctor', description: 'Check every setting and connection, each with its fix (not available yet)' },
  { name: 'secrets', description: 'Generate the secrets LibreChat and this package need (not available yet)' },
];

export function registerPlannedGroups(program: Command): void {
  for (const planned of PLANNED) {
    program
      .command(planned.name)
      .description(planned.description)
      .allowUnknownOption()
      .argument('[args...]')
      .action(() => {
        process.stderr.write(`librechat-supabase ${planned.name}: not available yet in this version.\n`);
        process.exitCode = 2;
      });
  }
}
