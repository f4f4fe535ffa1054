import net from 'node:net';
import { freePort } from '../../src/core/net.js';

/**
 * A TCP proxy in front of a real server that holds back every chunk the server sends for `delayMs`, in order:
 * each Postgres round trip through it takes `delayMs` longer, like a Supabase that answers slowly (a far region,
 * an overloaded pooler). Requests go upstream at once; only answers wait, so a query answers in ~delayMs.
 */
export interface SlowProxy {
  port: number;
  close(): Promise<void>;
}

export async function startSlowProxy(targetHost: string, targetPort: number, delayMs: number): Promise<SlowProxy> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    // Timers of equal delay fire in the order they were set, so chunks keep their order.
    upstream.on('data', (chunk: Buffer) => {
      setTimeout(() => {
        if (!client.destroyed) client.write(chunk);
      }, delayMs);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port,
    async close() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
