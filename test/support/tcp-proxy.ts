import net from 'node:net';
import { freePort } from '../../src/core/net.js';

/**
 * A TCP proxy in front of a real server, to make that server unreachable and reachable again during a test
 * (the server itself keeps running; clients see connection refused and dropped connections, as in an outage).
 */
export interface TcpProxy {
  port: number;
  /** Drops every connection and refuses new ones. */
  cut(): Promise<void>;
  /**
   * A silent partition: connections stay open and new ones are accepted, but nothing passes in either direction
   * (no refusal, no reset), until `restore`.
   */
  hang(): void;
  /** Accepts connections again on the same port (and lets traffic pass again after `hang`). */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  let hanging = false;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = net.createServer((client) => {
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
        client.on('data', (chunk: Buffer) => {
          if (!hanging) upstream.write(chunk);
        });
        upstream.on('data', (chunk: Buffer) => {
          if (!hanging) client.write(chunk);
        });
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });

  const stop = async () => {
    const current = server;
    server = null;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  await listen();
  return {
    port,
    cut: stop,
    hang() {
      hanging = true;
    },
    async restore() {
      hanging = false;
      if (!server) await listen();
    },
    close: stop,
  };
}
