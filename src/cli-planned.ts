import type { Command } from 'commander';

/**
 * Command groups whose capabilities are not built yet. Their help says so, and running them says so with exit
 * code 2, instead of pretending to work. Each entry is removed when its capability registers real commands.
 */
const PLANNED: Array<{ name: string; description: string }> = [
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
