import { createRequire } from 'node:module';
import os from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * bcrypt cost 10 (the hash LibreChat writes and checks with bcryptjs) on every core.
 *
 * Two engines, same hashes (`$2b$10$…`, interchangeable both ways):
 *   - `bcrypt` (native, C++; a dependency, prebuilt for common platforms): used when it loads. It hashes on libuv's
 *     thread pool and costs about a third less CPU per hash than bcryptjs (measured 50–53 ms vs 64–76 ms).
 *   - `bcryptjs` (pure JavaScript): the fallback where the native module cannot load, on worker threads, one per
 *     core, since hashing on the main thread would cap a sync at one core and stall everything else.
 * Either way at most one hash per core runs at once, so the hashers never queue behind each other and the database
 * work of the sync keeps a little room.
 */

export const LIBRECHAT_BCRYPT_COST = 10;

export type BcryptEngine = 'bcrypt (native)' | 'bcryptjs (worker threads)';

interface NativeBcrypt {
  hash(data: string, saltOrRounds: number): Promise<string>;
}

/** The native `bcrypt` package when it can be loaded here (installed, and built or prebuilt for this platform). */
function loadNativeBcrypt(): NativeBcrypt | null {
  try {
    // A runtime require rather than a static import: the package is optional, and bundlers must leave it alone.
    const loaded = createRequire(import.meta.url)('bcrypt') as Partial<NativeBcrypt>;
    return typeof loaded.hash === 'function' ? (loaded as NativeBcrypt) : null;
  } catch {
    return null;
  }
}

interface Job {
  password: string;
  cost: number;
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
  readonly engine: BcryptEngine;
  private readonly native: NativeBcrypt | null;
  private readonly workers: Worker[] = [];
  /** Workers (or thread-pool slots) not hashing right now. */
  private readonly idle: number[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<number, Job>();
  private nextId = 0;
  private closed = false;

  readonly size: number;

  /** `engine: 'bcryptjs'` skips the native package even when it is there (to compare the two). */
  constructor(options: { size?: number; engine?: 'auto' | 'bcryptjs' } = {}) {
    const size = Math.max(1, options.size ?? os.availableParallelism?.() ?? os.cpus().length);
    this.size = size;
    this.native = options.engine === 'bcryptjs' ? null : loadNativeBcrypt();
    this.engine = this.native ? 'bcrypt (native)' : 'bcryptjs (worker threads)';
    if (this.native) {
      for (let slot = 0; slot < size; slot += 1) this.idle.push(slot);
      return;
    }
    const bcryptPath = createRequire(import.meta.url).resolve('bcryptjs');
    for (let slot = 0; slot < size; slot += 1) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath } });
      // Workers keep the process alive only while a hash is outstanding.
      worker.unref();
      worker.on('message', (message: { id: number; hash?: string; error?: string }) => {
        const job = this.running.get(message.id);
        if (!job) return;
        this.running.delete(message.id);
        this.finished(slot);
        if (message.hash) job.resolve(message.hash);
        else job.reject(new Error(`bcrypt failed: ${message.error ?? 'unknown error'}`));
      });
      worker.on('error', (error) => {
        for (const job of [...this.running.values(), ...this.queue.splice(0)]) job.reject(error);
        this.running.clear();
      });
      this.workers.push(worker);
      this.idle.push(slot);
    }
  }

  hash(password: string, cost = LIBRECHAT_BCRYPT_COST): Promise<string> {
    if (this.closed) return Promise.reject(new Error('the password hasher is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ password, cost, resolve, reject });
      this.dispatch();
    });
  }

  /** Hashes waiting for a free core. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Hashes waiting or running. */
  get pending(): number {
    return this.queue.length + this.size - this.idle.length;
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const slot = this.idle.pop()!;
      const job = this.queue.shift()!;
      if (this.native) {
        this.native.hash(job.password, job.cost).then(
          (hash) => {
            this.finished(slot);
            job.resolve(hash);
          },
          (error: unknown) => {
            this.finished(slot);
            job.reject(new Error(`bcrypt failed: ${error instanceof Error ? error.message : String(error)}`));
          },
        );
        continue;
      }
      const id = this.nextId++;
      this.running.set(id, job);
      const worker = this.workers[slot]!;
      worker.ref();
      worker.postMessage({ id, password: job.password, cost: job.cost });
    }
  }

  private finished(slot: number): void {
    if (!this.native) this.workers[slot]?.unref();
    this.idle.push(slot);
    this.dispatch();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((worker) => worker.terminate()));
    this.workers.length = 0;
  }
}
