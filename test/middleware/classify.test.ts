import { describe, expect, it } from 'vitest';
import { classifyChange, classifyUsage, mayChangeLibrary } from '../../src/middleware/classify.js';

const agentId = 'agent_abc123XYZ';
const mongoId = '65a1b2c3d4e5f60718293a4b';
const input = (method: string, path: string, responseBody: unknown = undefined, query: Record<string, unknown> = {}, body: unknown = {}) => ({
  method,
  path,
  query,
  body,
  responseBody,
});

describe('classifyChange (full paths, PATCH updates, v0.8 shapes)', () => {
  it('agent create reads the agent_ id from the 201 body', () => {
    expect(classifyChange(input('POST', '/api/agents/', { id: agentId, _id: mongoId }))).toEqual({ kind: 'agent', agentId });
  });
  it('agent update is PATCH, not PUT', () => {
    expect(classifyChange(input('PATCH', `/api/agents/${agentId}`))).toEqual({ kind: 'agent', agentId });
    expect(classifyChange(input('PUT', `/api/agents/${agentId}`))).toBeNull();
  });
  it('duplicate reads the new agent from {agent, actions}', () => {
    expect(classifyChange(input('POST', `/api/agents/${agentId}/duplicate`, { agent: { id: 'agent_copy1' }, actions: [] }))).toEqual({
      kind: 'agent',
      agentId: 'agent_copy1',
    });
  });
  it('revert and avatar upload re-read the agent', () => {
    expect(classifyChange(input('POST', `/api/agents/${agentId}/revert`))).toEqual({ kind: 'agent', agentId });
    expect(classifyChange(input('POST', `/api/files/images/agents/${agentId}/avatar/`))).toEqual({ kind: 'agent', agentId });
  });
  it('agent delete takes the agent_ id from the URL (the body has none)', () => {
    expect(classifyChange(input('DELETE', `/api/agents/${agentId}`, { message: 'Agent deleted' }))).toEqual({ kind: 'agent', agentId, deleted: true });
  });
  it('prompt create reads the group from {prompt, group}', () => {
    expect(classifyChange(input('POST', '/api/prompts', { prompt: { _id: 'x', groupId: mongoId }, group: { _id: mongoId } }))).toEqual({
      kind: 'promptGroup',
      groupId: mongoId,
    });
  });
  it('version add, group PATCH, production tag, deletes', () => {
    expect(classifyChange(input('POST', `/api/prompts/groups/${mongoId}/prompts`))).toEqual({ kind: 'promptGroup', groupId: mongoId });
    expect(classifyChange(input('PATCH', `/api/prompts/groups/${mongoId}`))).toEqual({ kind: 'promptGroup', groupId: mongoId });
    expect(classifyChange(input('PATCH', `/api/prompts/${mongoId}/tags/production`))).toEqual({ kind: 'promptGroup', promptId: mongoId });
    expect(classifyChange(input('DELETE', `/api/prompts/groups/${mongoId}`))).toEqual({ kind: 'promptGroup', groupId: mongoId, deleted: true });
  });
  it('deleting the last prompt version deletes the group; other versions only refresh it', () => {
    const other = '75a1b2c3d4e5f60718293a4b';
    expect(
      classifyChange(input('DELETE', `/api/prompts/${other}`, { prompt: 'deleted', promptGroup: { message: 'deleted', id: mongoId } }, { groupId: mongoId })),
    ).toEqual({ kind: 'promptGroup', groupId: mongoId, deleted: true });
    expect(classifyChange(input('DELETE', `/api/prompts/${other}`, { prompt: 'deleted' }, { groupId: mongoId }))).toEqual({ kind: 'promptGroup', groupId: mongoId });
  });
  it('v0.8 sharing: PUT /api/permissions/:type/:_id uses the Mongo _id', () => {
    expect(classifyChange(input('PUT', `/api/permissions/agent/${mongoId}`))).toEqual({ kind: 'agent', mongoId });
    expect(classifyChange(input('PUT', `/api/permissions/promptGroup/${mongoId}`))).toEqual({ kind: 'promptGroup', groupId: mongoId });
  });
  it('chats, uses and unknown routes are not library changes', () => {
    expect(classifyChange(input('POST', '/api/agents/chat', undefined, {}, { agent_id: agentId }))).toBeNull();
    expect(classifyChange(input('POST', '/api/agents/chat/agents'))).toBeNull();
    expect(classifyChange(input('POST', `/api/prompts/groups/${mongoId}/use`))).toBeNull();
    expect(classifyChange(input('POST', '/api/agents/actions/x'))).toBeNull();
  });
});

describe('classifyUsage', () => {
  it('counts saved-agent chats and prompt uses, not views or ephemeral agents', () => {
    expect(classifyUsage('POST', '/api/agents/chat', { agent_id: agentId })).toEqual({ kind: 'agent', agentId });
    expect(classifyUsage('POST', '/api/agents/chat/agents', { agent_id: agentId })).toEqual({ kind: 'agent', agentId });
    expect(classifyUsage('POST', '/api/agents/chat/openAI', { agent_id: 'ephemeral' })).toBeNull();
    expect(classifyUsage('GET', `/api/agents/${agentId}`, {})).toBeNull();
    expect(classifyUsage('POST', `/api/prompts/groups/${mongoId}/use`, {})).toEqual({ kind: 'promptGroup', groupId: mongoId });
    expect(classifyUsage('GET', `/api/prompts/groups/${mongoId}`, {})).toBeNull();
  });
});

describe('mayChangeLibrary (decided before the router runs)', () => {
  const id = '0123456789abcdef01234567';
  it('is true for every request classifyChange can turn into a change, false for chats, uses and reads', () => {
    for (const [method, path] of [
      ['POST', '/api/agents'],
      ['PATCH', '/api/agents/agent_abc'],
      ['POST', '/api/agents/agent_abc/duplicate'],
      ['POST', '/api/agents/agent_abc/revert'],
      ['POST', '/api/files/images/agents/agent_abc/avatar'],
      ['DELETE', '/api/agents/agent_abc'],
      ['POST', '/api/prompts'],
      ['POST', `/api/prompts/groups/${id}/prompts`],
      ['PATCH', `/api/prompts/groups/${id}`],
      ['PATCH', `/api/prompts/${id}/tags/production`],
      ['DELETE', `/api/prompts/groups/${id}`],
      ['DELETE', `/api/prompts/${id}`],
      ['PUT', `/api/permissions/agent/${id}`],
      ['PUT', `/api/permissions/promptGroup/${id}`],
    ] as const) {
      expect(mayChangeLibrary(method, path), `${method} ${path}`).toBe(true);
    }
    for (const [method, path] of [
      ['POST', '/api/agents/chat'],
      ['POST', '/api/agents/chat/agents'],
      ['POST', `/api/prompts/groups/${id}/use`],
      ['GET', '/api/agents'],
      ['PUT', '/api/agents/agent_abc'],
      ['POST', '/api/convos/update'],
    ] as const) {
      expect(mayChangeLibrary(method, path), `${method} ${path}`).toBe(false);
    }
  });
});

