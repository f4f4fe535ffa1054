import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/inject/circuit-breaker.js';
import { classifyListRequest, isFirstPage, mergeAgentList, mergePromptList } from '../../src/inject/list-merge.js';
import type { OrganizationAgentListItem, OrganizationPromptListItem } from '../../src/library/access-directory.js';

const ORG = '0a000000-0000-4000-8000-00000000000a';

function orgAgent(n: number, extra: Partial<OrganizationAgentListItem> = {}): OrganizationAgentListItem {
  return {
    library_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    librechat_agent_id: `agent_org${n}`,
    librechat_mongo_id: n.toString(16).padStart(24, 'a'),
    name: `Org agent ${n}`,
    description: `description ${n}`,
    avatar: null,
    category: n % 2 ? 'sales' : 'general',
    conversation_starters: [],
    librechat_author_id: null,
    is_template: false,
    is_default: false,
    updated_at: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
    ...extra,
  };
}

function orgPrompt(n: number, category = ''): OrganizationPromptListItem {
  return {
    library_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    librechat_group_id: n.toString(16).padStart(24, 'b'),
    librechat_production_prompt_id: n.toString(16).padStart(24, 'c'),
    name: `Org prompt ${n}`,
    oneliner: null,
    command: null,
    category,
    prompt_text: `text ${n}`,
    librechat_author_id: null,
    usage_count: '3',
    is_template: true,
    is_default: false,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
  };
}

/** LibreChat's own cursor pages over a fixed ordered list (what the double and LibreChat do). */
function librechatPages(all: Array<Record<string, unknown>>, limit: number): Array<{ query: Record<string, string>; body: Record<string, unknown> }> {
  const pages = [];
  for (let start = 0; start < all.length || start === 0; start += limit) {
    const data = all.slice(start, start + limit);
    const hasMore = start + limit < all.length;
    pages.push({
      query: start === 0 ? { limit: String(limit) } : { limit: String(limit), cursor: Buffer.from(String(start)).toString('base64') },
      body: { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: hasMore, after: hasMore ? 'x' : null },
    });
    if (!hasMore) break;
  }
  return pages;
}

describe('list merging', () => {
  it('classifies the list routes from the full path only', () => {
    expect(classifyListRequest('/api/agents')).toEqual({ kind: 'agent', shape: 'agents' });
    expect(classifyListRequest('/api/agents/')).toEqual({ kind: 'agent', shape: 'agents' });
    expect(classifyListRequest('/api/agents/agent_x')).toBeNull();
    expect(classifyListRequest('/api/agents/chat')).toBeNull();
    expect(classifyListRequest('/api/prompts/all')).toEqual({ kind: 'prompt', shape: 'prompt-array' });
    expect(classifyListRequest('/api/prompts/groups')).toEqual({ kind: 'prompt', shape: 'prompt-groups' });
    expect(classifyListRequest('/api/prompts/groups/abc')).toBeNull();
    expect(isFirstPage({ cursor: 'undefined' })).toBe(true);
    expect(isFirstPage({ pageNumber: '2' })).toBe(false);
  });

  it('every item exactly once over a multi-page walk, whatever LibreChat already shows and on which page', () => {
    const org = Array.from({ length: 7 }, (_, i) => orgAgent(i));
    for (let seed = 0; seed < 200; seed += 1) {
      // LibreChat shows the user's own items plus a random subset of the organization items, in its own order.
      const own = Array.from({ length: seed % 9 }, (_, i) => ({ id: `agent_own${i}`, _id: `own${i}`, name: `Own ${i}` }));
      const visibleOrg = org.filter((_, i) => (seed >> i) % 3 === 0).map((item) => ({ id: item.librechat_agent_id, _id: item.librechat_mongo_id, name: item.name, category: item.category }));
      const order = (id: string) => createHash('md5').update(`${seed}:${id}`).digest('hex');
      const all = [...own, ...visibleOrg].sort((a, b) => order(a.id).localeCompare(order(b.id)));
      const limit = 1 + (seed % 4);
      const seen: string[] = [];
      for (const page of librechatPages(all, limit)) {
        const merged = mergeAgentList(page.body, page.query, org, ORG) as { data: Array<{ id: string }> };
        seen.push(...merged.data.map((item) => item.id));
      }
      expect(new Set(seen).size, `seed ${seed}`).toBe(seen.length);
      expect(new Set(seen)).toEqual(new Set([...own.map((item) => item.id), ...org.map((item) => item.librechat_agent_id)]));
    }
  });

  it('honours category, search, promoted, requiredPermission and mine', () => {
    const org = [orgAgent(1, { name: 'Deal desk' }), orgAgent(2, { description: 'Runs the DEAL review' }), orgAgent(3)];
    const ids = (query: Record<string, string>) =>
      (mergeAgentList({ object: 'list', data: [], has_more: false }, query, org, ORG) as { data: Array<{ id: string }> }).data.map((item) => item.id);
    expect(ids({ category: 'sales' })).toEqual(['agent_org1', 'agent_org3']);
    expect(ids({ search: 'deal' })).toEqual(['agent_org1', 'agent_org2']);
    expect(ids({ search: 'deal', category: 'general' })).toEqual(['agent_org2']);
    expect(ids({ promoted: '1' })).toEqual([]);
    expect(ids({ requiredPermission: '2' })).toEqual([]);
    expect(ids({ mine: 'true' })).toEqual([]);
  });

  it('projects list fields only, flags organization items, and keeps LibreChat\'s pagination fields', () => {
    const body = { object: 'list', data: [{ id: 'agent_org1', _id: orgAgent(1).librechat_mongo_id, name: 'x' }], first_id: 'agent_org1', last_id: 'agent_org1', has_more: false, after: null };
    const merged = mergeAgentList(body, {}, [orgAgent(1), orgAgent(2)], ORG) as { data: Array<Record<string, unknown>>; first_id: string };
    expect(merged.first_id).toBe('agent_org1');
    expect(merged.data).toHaveLength(2);
    expect(merged.data[0]).toMatchObject({ id: 'agent_org1', isOrganizationItem: true, organizationId: ORG });
    expect(Object.keys(merged.data[1]!).sort()).toEqual(
      ['_id', 'avatar', 'category', 'conversation_starters', 'description', 'id', 'isOrganizationItem', 'is_promoted', 'name', 'organizationId', 'updatedAt'].sort(),
    );
    // v0.7's shape: {data, has_more, first_id, last_id}
    const v07 = mergeAgentList({ data: [], has_more: false, first_id: null, last_id: null }, {}, [orgAgent(4)], ORG) as { data: unknown[] };
    expect(v07.data).toHaveLength(1);
  });

  it('reuses the projections of one cached list per filter, and a refreshed list is projected anew', () => {
    const cached = [orgAgent(1), orgAgent(2)];
    const merge = (items: OrganizationAgentListItem[], query: Record<string, string>, organizationId = ORG) =>
      (mergeAgentList({ object: 'list', data: [], has_more: false }, query, items, organizationId) as { data: Array<Record<string, unknown>> }).data;
    const first = merge(cached, {});
    const second = merge(cached, {});
    expect(second[0]).toBe(first[0]); // same projection object: nothing rebuilt per request
    expect(Object.isFrozen(first[0])).toBe(true); // shared, so nobody may change it
    expect(merge(cached, { search: 'agent 2' }).map((item) => item.id)).toEqual(['agent_org2']);
    expect(merge(cached, {}, 'another-org')[0]).toMatchObject({ organizationId: 'another-org' });
    // Many different searches on one list: results stay right (the memo is bounded, entries are rebuilt when evicted).
    for (let i = 0; i < 200; i += 1) expect(merge(cached, { search: `agent ${1 + (i % 2)}` })).toHaveLength(1);
    // The cache refreshes by replacing the list: the new content shows.
    const refreshed = [orgAgent(1, { name: 'Renamed' }), orgAgent(2)];
    expect(merge(refreshed, {})[0]).toMatchObject({ name: 'Renamed' });
  });

  it('prompts: arrays, pages, system categories', () => {
    const org = [orgPrompt(1, 'writing'), orgPrompt(2, '')];
    const all = mergePromptList([], 'prompt-array', {}, org, ORG) as Array<Record<string, unknown>>;
    expect(all.map((group) => group.name)).toEqual(['Org prompt 1', 'Org prompt 2']);
    expect(all[0]).toMatchObject({ productionPrompt: { prompt: 'text 1' }, numberOfGenerations: 3, isOrganizationItem: true });
    const names = (query: Record<string, string>) =>
      ((mergePromptList({ promptGroups: [], pageNumber: '1', pageSize: '10', pages: '1' }, 'prompt-groups', query, org, ORG) as { promptGroups: Array<{ name: string }> }).promptGroups).map((g) => g.name);
    expect(names({ category: 'sys__no__category__sys' })).toEqual(['Org prompt 2']);
    expect(names({ category: 'sys__my__prompts__sys' })).toEqual([]);
    expect(names({ category: 'sys__all__sys', name: 'PROMPT 1' })).toEqual(['Org prompt 1']);
    expect(names({ pageNumber: '2' })).toEqual([]);
    // A later page removes what page one already showed.
    const later = mergePromptList({ promptGroups: [{ _id: orgPrompt(1).librechat_group_id, name: 'Org prompt 1' }, { _id: 'own', name: 'Own' }] }, 'prompt-groups', { cursor: 'abc' }, org, ORG) as {
      promptGroups: Array<{ name: string }>;
    };
    expect(later.promptGroups.map((g) => g.name)).toEqual(['Own']);
  });
});

describe('circuit breaker', () => {
  it('opens after N consecutive failures, lets one probe through after the cooldown, closes on success', () => {
    let now = 0;
    const breaker = new CircuitBreaker(3, 1000, () => now);
    for (let i = 0; i < 2; i += 1) {
      expect(breaker.tryAcquire()).toBe(true);
      breaker.failure();
    }
    breaker.success();
    for (let i = 0; i < 3; i += 1) breaker.failure();
    expect(breaker.snapshot().state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    now = 1000;
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false); // one probe at a time
    breaker.failure();
    expect(breaker.snapshot()).toMatchObject({ state: 'open', opens: 2 });
    now = 2500;
    expect(breaker.tryAcquire()).toBe(true);
    breaker.success();
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
  });
});
