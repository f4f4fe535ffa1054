import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { OrganizationItems } from '../../src/inject/organization-items.js';
import type { AccessDirectory } from '../../src/library/access-directory.js';

/*
 * The inject cache's refresh after our own writes: lists are re-read in the background, requests never wait for
 * it, a read that started earlier never overwrites a newer one, and a burst of writes costs at most two reads.
 * The directory here is a controllable stand-in for Supabase answers (the Postgres-backed one is exercised
 * end to end in test/library); what is tested is the cache's ordering logic.
 */
function controllableDirectory() {
  const reads: Array<{ organizationId: string; resolve: (items: unknown[]) => void }> = [];
  const directory = {
    agentList: (organizationId: string) => new Promise<unknown[]>((resolve) => reads.push({ organizationId, resolve })),
    promptList: async () => [],
  } as unknown as AccessDirectory;
  return { directory, reads };
}

const ORG = 'org-1';
const user = { id: 'u1', email: 'u1@example.com' };
const options = { timeoutMs: 250, cacheTtlMs: 60_000, maxStaleMs: 600_000, breakerFailures: 5, breakerCooldownMs: 10_000, maxItems: 100 };
const tick = () => new Promise((resolve) => setImmediate(resolve));

async function warmCache() {
  const { directory, reads } = controllableDirectory();
  const items = new OrganizationItems({ resolveOrganization: async () => ({ id: ORG }) as never, directory, logger: silentLogger }, options);
  const first = items.get(user, 'agent');
  await tick();
  reads.shift()!.resolve([{ name: 'v1' }]);
  expect(await first).toMatchObject({ organizationId: ORG, items: [{ name: 'v1' }] });
  return { items, reads };
}

describe('organization items cache refresh', () => {
  it('serves the cached list while a refresh runs, then the refreshed one', async () => {
    const { items, reads } = await warmCache();
    const refreshed = items.refresh([ORG]);
    expect(reads).toHaveLength(1);
    expect(items.peek(user, 'agent')).toMatchObject({ items: [{ name: 'v1' }] }); // no waiting on the request path
    reads.shift()!.resolve([{ name: 'v2' }]);
    await refreshed;
    expect(items.peek(user, 'agent')).toMatchObject({ items: [{ name: 'v2' }] });
  });

  it('coalesces a burst of refreshes into at most two reads, the last one started after the last write', async () => {
    const { items, reads } = await warmCache();
    const all = Array.from({ length: 10 }, () => items.refresh([ORG]));
    expect(reads).toHaveLength(1);
    reads.shift()!.resolve([{ name: 'v2' }]);
    await tick();
    await tick();
    expect(reads).toHaveLength(1); // one more read, for the writes that landed during the first
    reads.shift()!.resolve([{ name: 'v3' }]);
    await Promise.all(all);
    expect(reads).toHaveLength(0);
    expect(items.peek(user, 'agent')).toMatchObject({ items: [{ name: 'v3' }] });
  });

  it('refreshes only the organizations named, or every cached one for "all"', async () => {
    const { items, reads } = await warmCache();
    void items.refresh(['another-org']);
    expect(reads).toHaveLength(0);
    const all = items.refresh('all');
    expect(reads.map((read) => read.organizationId)).toEqual([ORG]);
    reads.shift()!.resolve([{ name: 'v2' }]);
    await all;
  });

  it('a failed refresh keeps the cached list and lets the next request revalidate it', async () => {
    const { directory } = controllableDirectory();
    let fail = false;
    let calls = 0;
    const flaky = {
      ...directory,
      agentList: async () => {
        calls += 1;
        if (fail) throw new Error('Supabase down');
        return [{ name: `v${calls}` }];
      },
    } as unknown as AccessDirectory;
    const items = new OrganizationItems({ resolveOrganization: async () => ({ id: ORG }) as never, directory: flaky, logger: silentLogger }, options);
    expect(await items.get(user, 'agent')).toMatchObject({ items: [{ name: 'v1' }] });
    fail = true;
    await items.refresh([ORG]);
    fail = false; // Supabase is back
    expect(items.peek(user, 'agent')).toMatchObject({ items: [{ name: 'v1' }] }); // stale, still served, and revalidated
    await tick();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(items.peek(user, 'agent')).toMatchObject({ items: [{ name: 'v3' }] }); // the peek above revalidated it
  });

  it('a known user whose membership is past its TTL is answered from the cache while it is re-read', async () => {
    const { directory, reads } = controllableDirectory();
    let lookups = 0;
    const resolveOrganization = async () => {
      lookups += 1;
      return { id: ORG } as never;
    };
    const items = new OrganizationItems({ resolveOrganization, directory, logger: silentLogger }, { ...options, cacheTtlMs: 20 });
    const first = items.get(user, 'agent');
    await tick();
    reads.shift()!.resolve([{ name: 'v1' }]);
    await first;
    expect(lookups).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 40)); // past the TTL of the user and of the list
    const now = items.peek(user, 'agent');
    expect(now).toMatchObject({ organizationId: ORG, items: [{ name: 'v1' }] }); // not 'wait': no request waits
    await tick();
    expect(lookups).toBe(2); // the membership was re-read in the background
    expect(reads).toHaveLength(1); // and so was the list
    reads.shift()!.resolve([{ name: 'v2' }]);
  });
});
