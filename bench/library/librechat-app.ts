import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { BenchMember } from './fixtures.js';

/**
 * LibreChat's app shape around `/api/agents`: JSON body parser, optional middlewares mounted before the router (as in
 * a fork's api/server/index.js), and a router that authenticates inside and answers from memory, so that only the
 * cost of the mounted middlewares differs between two such apps.
 */
export function librechatShapedApp(member: BenchMember, agentIds: string[], mount?: (app: Express) => void, extraListItems: unknown[] = []): Express {
  const app = express();
  app.use(express.json({ limit: '3mb' }));
  mount?.(app);
  const listPage = Array.from({ length: 20 }, (_, i) => ({
    _id: `${'0'.repeat(22)}${String(i).padStart(2, '0')}`,
    id: `agent_librechat_page_${i}`,
    name: `LibreChat agent ${i}`,
    description: 'An agent the member can see in LibreChat',
    author: member.user.id,
    category: 'general',
    isPublic: false,
  }));
  // The "same body" baseline: LibreChat answering with the organization items in its own page (what the merged
  // list holds), so that comparing with it isolates the middlewares' work from the cost of sending more items.
  const listData = [...listPage, ...extraListItems];
  const known = new Set(agentIds);
  const router = express.Router();
  // LibreChat's routers run requireJwtAuth themselves; here the user is fixed (no Mongo on the request path).
  router.use((req: Request, _res: Response, next: NextFunction) => {
    (req as Request & { user?: unknown }).user = member.user;
    next();
  });
  router.get('/', (_req, res) => {
    res.json({ object: 'list', data: listData, first_id: listPage[0]!.id, last_id: listPage.at(-1)!.id, has_more: false, after: null });
  });
  // v0.8 chat: an SSE stream (created → delta → final), so res.json never fires.
  router.post('/chat', (req, res) => {
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.write(`event: message\ndata: ${JSON.stringify({ created: true, message: { text: String(req.body?.text ?? '') } })}\n\n`);
    res.write(`event: message\ndata: ${JSON.stringify({ event: 'on_message_delta', data: { delta: { content: 'Hello' } } })}\n\n`);
    res.end(`event: message\ndata: ${JSON.stringify({ final: true, responseMessage: { text: 'Hello', error: false } })}\n\n`);
  });
  router.patch('/:id', (req, res) => {
    if (!known.has(String(req.params.id))) return res.status(404).json({ error: 'Agent not found' });
    res.json({ id: req.params.id, name: req.body?.name ?? 'unchanged', author: member.user.id, updatedAt: new Date().toISOString() });
  });
  app.use('/api/agents', router);
  return app;
}
