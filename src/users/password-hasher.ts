import { createRequire } from 'node:module';
import os from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * bcrypt (cost 10, bcryptjs — the hash LibreChat writes and checks) on worker threads. bcryptjs is pure JavaScript
 * (~65 ms per hash), so hashing on the main thread caps a sync at ~15 users/s on any machine; one worker per core
 * uses them all.
 */

export const LIBRECHAT_BCRYPT_COST = 10;

interface Job {
  resolve: (hash: string) => void;
  reject: (error: Error) => void;
}

// Runs inside each worker: hash what the main thread sends, answer with the job id. CommonJS eval, so bcryptjs is
// required by the absolute path the main thread resolved (works from sources, the ESM build and the CJS build).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptPath);
parentPort.on('message', ({ id, password, cost }) => {
  bcrypt.hash(password, cost).then(
    (hash) => parentPort.postMessage({ id, hash }),
    (error) => parentPort.postMessage({ id, error: String(error && error.message || error) }),
  );
});
`;

export class PasswordHasher {
  private readonly workers: Worker[] = [];
  private readonly jobs = new Map<number, Job>();
  private nextId = 0;
  private nextWorker = 0;

  constructor(readonly size = Math.max(1, os.availableParallelism?.() ?? os.cpus().length)) {
    const bcryptPath = createRequire(import.meta.url).resolve('bcryptjs');
    for (let i = 0; i < size; i += 1) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath } });
      worker.unref();
      worker.on('message', (message: { id: number; hash?: string; error?: string }) => {
        const job = this.jobs.get(message.id);
        if (!job) return;
        this.jobs.delete(message.id);
        if (this.jobs.size === 0) this.unrefAll();
        if (message.hash) job.resolve(message.hash);
        else job.reject(new Error(`bcrypt failed: ${message.error ?? 'unknown error'}`));
      });
      worker.on('error', (error) => {
        for (const job of this.jobs.values()) job.reject(error);
        this.jobs.clear();
      });
      this.workers.push(worker);
    }
  }

  hash(password: string, cost = LIBRECHAT_BCRYPT_COST): Promise<string> {
    const id = this.nextId++;
    const worker = this.workers[this.nextWorker++ % this.workers.length]!;
    // Workers keep the process alive only while a hash is outstanding.
    if (this.jobs.size === 0) for (const w of this.workers) w.ref();
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      worker.postMessage({ id, password, cost });
    });
  }

  private unrefAll(): void {
    for (const worker of this.workers) worker.unref();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
    this.workers.length = 0;
  }
}
