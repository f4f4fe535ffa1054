import http from 'node:http';

/** A server under measurement: where it listens and the keep-alive agent (one socket) the client uses for it. */
export interface HttpTarget {
  port: number;
  agent: http.Agent;
}

/** One request; resolves with the time to the last byte of the response (ms), the status and the body. */
export function timedRequest(target: HttpTarget, method: string, path: string, body?: unknown): Promise<{ ms: number; status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(
      {
        host: '127.0.0.1',
        port: target.port,
        method,
        path,
        agent: target.agent,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
