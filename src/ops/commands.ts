import type { Command } from 'commander';
import { registerDoctorCommand } from './doctor.js';
import { registerSecretsCommand } from './secrets.js';

/** The operations commands: `doctor` and `secrets`. */
export function registerOpsCommands(program: Command): void {
  registerDoctorCommand(program);
  registerSecretsCommand(program);
}
