import { Command } from 'commander';
import { registerServiceCommands } from './service/commands.js';
import { registerPlannedGroups } from './cli-planned.js';
import { registerUsersCommands } from './users/commands.js';
import { registerOpsCommands } from './ops/commands.js';
import { registerLibraryCommands } from './library/commands.js';
import { registerTenantCommands } from './tenants/commands.js';
import { packageVersion } from './core/paths.js';

const version = packageVersion();

/** The `librechat-supabase` command line: one program, each capability registers its own commands. */
export function buildProgram(): Command {
  const program = new Command('librechat-supabase')
    .description('Connect a LibreChat deployment to Supabase: library sync, user backfill, tenant sync, operations')
    .version(version)
    .showHelpAfterError('(add --help for usage)');
  registerServiceCommands(program);
  registerOpsCommands(program);
  registerUsersCommands(program);
  registerLibraryCommands(program);
  registerTenantCommands(program);
  registerPlannedGroups(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
