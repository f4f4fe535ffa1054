import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const cliEntry = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../../src/cli.ts');

export interface CliResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs the real command line (from source, through tsx) in a working directory with exactly the given environment. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const env = options.env ?? process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', tsxLoader, cliEntry, ...args],
      { cwd: options.cwd ?? process.cwd(), env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, NODE_OPTIONS: '' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ stdout, stderr, code });
      },
    );
  });
}
