import { randomUUID } from 'node:crypto';
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Types } from 'mongoose';
import { PermissionBits } from './access-control.js';
import { userOf } from './auth.js';
import { handler, type DoubleContext } from './context.js';
import type { Doc } from './models.js';
import { agentVisibleInV07 } from './projects-v07.js';

/** LibreChat's `Constants.EPHEMERAL_AGENT_ID`. */
const EPHEMERAL_AGENT_ID = 'ephemeral';

/** Body `text` values that make the double fail, for testing error paths of usage tracking. */
export const CHAT_FAILURES = {
  /** 500 JSON before any streaming (e.g. the endpoint could not be initialized). */
  beforeStream: 'FAIL',
  /** 200 stream whose final event carries an error message (how LibreChat reports errors mid-stream). */
  inStream: 'FAIL_STREAM',
} as const;

function sendEvent(res: Response, event: Doc): void {
  res.write(`event: message\ndata: ${JSON.stringify(event)}\n\n`);
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * `canAccessAgentFromBody`: only saved agents (`endpoint: 'agents'`) are checked, for VIEW; any other endpoint
 * runs an ephemeral agent, which needs no permission.
 */
function canChatWithAgent(ctx: DoubleContext): RequestHandler {
  const resolve = async (id: string): Promise<Types.ObjectId | null> =>
    ((await ctx.models.Agent.findOne({ id }, { _id: 1 }).lean<Doc>())?._id as Types.ObjectId | undefined) ?? null;
  const checkAcl = ctx.acl.canAccessResource({
    resourceType: 'agent',
    requiredPermission: PermissionBits.VIEW,
    resourceIdParam: 'agent_id',
    resolve,
    readId: (req) => (req.body ?? {}).agent_id,
  });
  return async (req: Request, res: Response, next: NextFunction) => {
    const { endpoint, agent_id: agentId } = (req.body ?? {}) as { endpoint?: string; agent_id?: string };
    if (endpoint !== 'agents' || agentId === EPHEMERAL_AGENT_ID) {
      next();
      return;
    }
    if (!agentId) {
      res.status(400).json({ error: 'Bad Request', message: 'agent_id is required in request body' });
      return;
    }
    if (ctx.version === '0.8') {
      await checkAcl(req, res, next);
      return;
    }
    // v0.7 had no ACL: the agent loads for its author and, when in the global project, for everyone.
    const agent = await ctx.models.Agent.findOne({ id: agentId }).lean<Doc>();
    if (!agent || !(await agentVisibleInV07(ctx, agent, userOf(req)))) {
      res.status(404).json({ error: 'Agent not found' });
      return;
    }
    next();
  };
}

/**
 * `/api/agents/chat` and `/api/agents/chat/:endpoint`. Instead of running a model it streams a short SSE
 * conversation (created → delta → final), so `res.json` never fires, exactly like LibreChat's streamed replies.
 */
export function createChatRouter(ctx: DoubleContext): Router {
  const router = Router();
  router.use(canChatWithAgent(ctx));

  const chat = handler(async (req, res) => {
    const user = userOf(req);
    const body = (req.body ?? {}) as { text?: string; conversationId?: string; parentMessageId?: string; messageId?: string; agent_id?: string };
    if (body.text === CHAT_FAILURES.beforeStream) {
      res.status(500).json({ error: 'The endpoint could not be initialized (double: text FAIL)' });
      return;
    }
    const conversationId = body.conversationId && body.conversationId !== 'new' ? body.conversationId : randomUUID();
    const requestMessage = {
      messageId: body.messageId ?? randomUUID(),
      parentMessageId: body.parentMessageId ?? '00000000-0000-0000-0000-000000000000',
      conversationId,
      sender: 'User',
      text: body.text ?? '',
      isCreatedByUser: true,
      user: user.id,
    };
    const responseMessageId = randomUUID();
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    sendEvent(res, { message: requestMessage, created: true });
    await tick();
    const failing = body.text === CHAT_FAILURES.inStream;
    const reply = failing ? '' : `echo: ${body.text ?? ''}`;
    if (!failing) {
      sendEvent(res, { event: 'on_message_delta', data: { id: responseMessageId, delta: { content: [{ type: 'text', text: reply }] } } });
      await tick();
    }
    sendEvent(res, {
      final: true,
      conversation: { conversationId, endpoint: req.params.endpoint ?? 'agents', agent_id: body.agent_id, user: user.id },
      requestMessage,
      responseMessage: {
        messageId: responseMessageId,
        parentMessageId: requestMessage.messageId,
        conversationId,
        sender: 'Agent',
        text: failing ? 'An error occurred while processing the request (double: text FAIL_STREAM)' : reply,
        isCreatedByUser: false,
        ...(failing ? { error: true } : {}),
      },
    });
    res.end();
  });

  router.post('/', chat);
  router.post('/:endpoint', chat);
  return router;
}
