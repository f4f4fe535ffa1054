import { Worker } from 'node:worker_threads';

/**
 * A TypeScript module in a worker thread (its own event loop and heap, like a separate server process), with
 * request/answer messages. The worker module answers `{id, ...}` messages via `serveRequests` below.
 */
export interface TsWorker {
  ask<T>(message: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export function startTsWorker(moduleUrl: URL, workerData: unknown): TsWorker {
  // `node --import tsx` does not carry into workers on Node 20: register tsx inside the worker, then load it.
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(moduleUrl.href)}); })`;
  const worker = new Worker(bootstrap, { eval: true, workerData });
  let nextId = 1;
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let failure: Error | null = null;
  const failAll = (error: Error) => {
    failure = error;
    for (const pending of waiting.values()) pending.reject(error);
    waiting.clear();
  };
  worker.on('message', (message: { id: number; error?: string; value?: unknown }) => {
    const pending = waiting.get(message.id);
    if (!pending) return;
    waiting.delete(message.id);
    if (message.error) pending.reject(new Error(message.error));
    else pending.resolve(message.value);
  });
  worker.on('error', (error) => failAll(error));
  worker.on('exit', (code) => failAll(new Error(`worker exited (${code})`)));
  return {
    ask<T>(message: Record<string, unknown>, timeoutMs = 120_000): Promise<T> {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`worker did not answer ${String(message.type)} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        worker.postMessage({ ...message, id });
      });
    },
    async stop() {
      await worker.terminate();
    },
  };
}
