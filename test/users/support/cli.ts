import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const root = path.resolve(import.meta.dirname, '../../..');

/** Every output of every CLI run in this process, to prove no secret is ever printed. */
export const allOutput: string[] = [];

/** Starts `node --import tsx <entry> args…` as a real child process with exactly `env` (plus PATH/HOME). */
export function startCli(args: string[], env: Record<string, string>, entry = 'src/cli.ts'): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LCS_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliRun>((resolve) => {
    child.on('close', (code, signal) => {
      allOutput.push(stdout, stderr);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}

export function runCli(args: string[], env: Record<string, string>, entry?: string): Promise<CliRun> {
  return startCli(args, env, entry).done;
}
