import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/core/net.js';

export interface RunningMongo {
  url: string;
  stop(): Promise<void>;
}

/** The FerretDB binary built by scripts/mongo-server.sh (or FERRETDB_BIN). */
function ferretdbBinary(): string | null {
  try {
    const printed = execFileSync('bash', [path.resolve('scripts/mongo-server.sh'), 'path'], { encoding: 'utf8' }).trim();
    return printed && existsSync(printed) ? printed : null;
  } catch {
    return null;
  }
}

/**
 * A real MongoDB-wire server for the run: MONGO_URL when set, else FerretDB v1 (SQLite backend) on a free port.
 * Returns a reason instead when none can be had, so Mongo-backed tests skip with one clear line.
 */
export async function startMongo(): Promise<RunningMongo | { reason: string }> {
  if (process.env.MONGO_URL) return { url: process.env.MONGO_URL, stop: async () => undefined };

  const binary = ferretdbBinary();
  if (!binary) return { reason: 'no MONGO_URL and no FerretDB binary (run `bash scripts/mongo-server.sh build`)' };

  const port = await freePort();
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'lcs-test-ferretdb-'));
  const child: ChildProcess = spawn(
    binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${stateDir}/`,
      `--state-dir=${stateDir}`,
      `--listen-addr=127.0.0.1:${port}`,
      '--telemetry=disable',
      '--log-level=error',
      '--debug-addr=127.0.0.1:0',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DO_NOT_TRACK: '1' } },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });

  const ready = await waitForPort(port, 15_000, () => child.exitCode !== null);
  if (!ready) {
    child.kill('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
    return { reason: `FerretDB did not start: ${stderr.trim() || 'no output'}` };
  }
  return {
    url: `mongodb://127.0.0.1:${port}/`,
    async stop() {
      // Its data is throw-away and a SIGTERM can wait seconds on open connections.
      child.kill('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 50));
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, timeoutMs: number, exited: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) return false;
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
