/**
 * `startSlowProxy` in a worker thread of its own, so the proxy's timers and socket copies never run on the event
 * loop of the process that measures latencies (a slow Supabase is another machine, not work in the client).
 * Messages: port, close.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startSlowProxy } from './slow-proxy.js';

const { host, port, delayMs } = workerData as { host: string; port: number; delayMs: number };
const proxy = startSlowProxy(host, port, delayMs);

parentPort!.on('message', (message: { id: number; type: string }) => {
  const answer = async (): Promise<unknown> => {
    if (message.type === 'port') return (await proxy).port;
    if (message.type === 'close') return (await proxy).close().then(() => true);
    throw new Error(`unknown message ${message.type}`);
  };
  answer().then(
    (value) => parentPort!.postMessage({ id: message.id, value }),
    (error: unknown) => parentPort!.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
