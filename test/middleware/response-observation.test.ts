import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import type { LibrarySync } from '../../src/library/sync.js';
import type { LibraryChange } from '../../src/middleware/classify.js';
import { requestPath } from '../../src/middleware/response.js';
import { createSyncMiddleware } from '../../src/middleware/sync-to-supabase.js';
import { createTrackUsageMiddleware } from '../../src/track/track-usage.js';
import { UsageBuffer, type UsageBatchEntry } from '../../src/track/usage-buffer.js';

const user = { id: '65a1b2c3d4e5f60718293a4b', email: 'alice@a.example' };
const agentId = 'agent_observe1';

/** A LibreChat-shaped app: the middleware before a router that authenticates inside. */
function app(mount: (host: Express) => void, routes: (router: express.Router) => void): Express {
  const host = express();
  host.use(express.json());
  mount(host);
  const router = express.Router();
  router.use((req, _res, next) => {
    (req as express.Request & { user?: unknown }).user = user;
    next();
  });
  routes(router);
  host.use('/api/agents', router);
  return host;
}

/** The changes syncToSupabase queues, as LibrarySync.notify receives them (the queue itself is tested elsewhere). */
function recordingSync(): { sync: LibrarySync; changes: LibraryChange[] } {
  const changes: LibraryChange[] = [];
  return { sync: { notify: (change: LibraryChange) => changes.push(change) } as unknown as LibrarySync, changes };
}

function usage(): { buffer: UsageBuffer; written: UsageBatchEntry[] } {
  const written: UsageBatchEntry[] = [];
  const buffer = new UsageBuffer({
    write: async (entries) => {
      written.push(...entries);
    },
    resolveOrganization: async () => 'org-a',
    logger: silentLogger,
    intervalMs: 60_000,
  });
  return { buffer, written };
}

describe('observing LibreChat responses', () => {
  it('queues the change by the time the client has the response (no pending work to wait for)', async () => {
    const { sync, changes } = recordingSync();
    const host = app(
      (h) => h.use('/api/agents', createSyncMiddleware({ sync, logger: silentLogger })),
      (router) => router.patch('/:id', (req, res) => res.json({ id: req.params.id })),
    );
    const response = await request(host).patch(`/api/agents/${agentId}`).send({ name: 'x' });
    expect(response.status).toBe(200);
    expect(changes).toEqual([{ kind: 'agent', agentId }]);
  });

  it('does not replace res.json on routes whose change comes from the URL, and does on create', async () => {
    const { sync, changes } = recordingSync();
    const seen: boolean[] = [];
    const host = app(
      (h) => h.use('/api/agents', createSyncMiddleware({ sync, logger: silentLogger })),
      (router) => {
        router.patch('/:id', (req, res) => {
          seen.push(Object.prototype.hasOwnProperty.call(res, 'json'));
          res.json({ id: req.params.id });
        });
        router.post('/', (_req, res) => {
          seen.push(Object.prototype.hasOwnProperty.call(res, 'json'));
          res.status(201).json({ id: 'agent_created1', _id: user.id });
        });
      },
    );
    await request(host).patch(`/api/agents/${agentId}`).send({});
    await request(host).post('/api/agents').send({ name: 'n' });
    expect(seen).toEqual([false, true]);
    expect(changes).toEqual([{ kind: 'agent', agentId }, { kind: 'agent', agentId: 'agent_created1' }]);
  });

  it('queues nothing after a failed request, and a throwing queue never reaches LibreChat', async () => {
    const { sync, changes } = recordingSync();
    const throwing = { notify: () => { throw new Error('queue broke'); } } as unknown as LibrarySync;
    const host = app(
      (h) => {
        h.use('/api/agents', createSyncMiddleware({ sync, logger: silentLogger }));
        h.use('/api/agents', createSyncMiddleware({ sync: throwing, logger: silentLogger }));
      },
      (router) => router.patch('/:id', (req, res) => (req.body.fail ? res.status(500).json({ error: 'x' }) : res.json({ id: req.params.id }))),
    );
    expect((await request(host).patch(`/api/agents/${agentId}`).send({ fail: true })).status).toBe(500);
    expect(changes).toEqual([]);
    const ok = await request(host).patch(`/api/agents/${agentId}`).send({});
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ id: agentId });
    expect(changes).toHaveLength(1);
  });

  it('a stream whose last event comes with res.end(chunk) and reports an error is not a use; a clean one is', async () => {
    const { buffer, written } = usage();
    const host = app(
      (h) => h.use('/api/agents', createTrackUsageMiddleware({ usage: buffer, logger: silentLogger })),
      (router) =>
        router.post('/chat', (req, res) => {
          res.setHeader('Content-Type', 'text/event-stream');
          res.write(`event: message\ndata: ${JSON.stringify({ created: true })}\n\n`);
          res.end(`event: message\ndata: ${JSON.stringify({ final: true, responseMessage: { error: req.body.text === 'FAIL' } })}\n\n`);
        }),
    );
    await request(host).post('/api/agents/chat').send({ agent_id: agentId, text: 'FAIL' });
    await request(host).post('/api/agents/chat').send({ agent_id: agentId, text: 'hello' });
    await buffer.flush();
    expect(written.map((entry) => [entry.librechatId, entry.uses])).toEqual([[agentId, 1]]);
  });

  it('a chat the client aborts mid-stream is not a use', async () => {
    const { buffer, written } = usage();
    let ended!: () => void;
    const streamClosed = new Promise<void>((resolve) => (ended = resolve));
    const host = app(
      (h) => h.use('/api/agents', createTrackUsageMiddleware({ usage: buffer, logger: silentLogger })),
      (router) =>
        router.post('/chat', (_req, res) => {
          res.setHeader('Content-Type', 'text/event-stream');
          res.write('event: message\ndata: {"created":true}\n\n');
          res.on('close', () => {
            res.end('event: message\ndata: {"final":true}\n\n'); // LibreChat ends its side after the client left
            ended();
          });
        }),
    );
    const server = http.createServer(host).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const body = JSON.stringify({ agent_id: agentId, text: 'hi' });
    const client = http.request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, method: 'POST', path: '/api/agents/chat', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    client.on('response', (res) => res.once('data', () => client.destroy()));
    client.on('error', () => undefined);
    client.end(body);
    await streamClosed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    server.close();
    await buffer.flush();
    expect(written).toEqual([]);
  });

  it('requestPath is the full path without the query, inside mounted routers too', async () => {
    const paths: string[] = [];
    const host = express();
    host.use('/api/agents', (req, _res, next) => {
      paths.push(requestPath(req), `${req.baseUrl}${req.path}`);
      next();
    });
    host.use((_req, res) => res.status(204).end());
    await request(host).get('/api/agents/agent_x/revert?limit=20&cursor=a?b');
    expect(paths).toEqual(['/api/agents/agent_x/revert', '/api/agents/agent_x/revert']);
  });
});
