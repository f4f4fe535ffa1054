/**
 * Usage ingestion: events recorded the way trackUsage does after a chat finished (organization from the resolver's
 * cache, then `UsageBuffer.record`), flushed as increments through `lcs_record_usage`; then the counts are checked
 * against the number of events. Baseline: one `lcs_record_usage` call per event.
 */
import type { BenchResult } from '../support/context.js';
import { describeMemory, measureMemory, round } from '../support/stats.js';
import type { DeliveryFixture } from './delivery.js';

const TARGET_PER_SECOND = 20_000;

async function countedUses(fixture: DeliveryFixture, ids: string[]): Promise<{ usageCount: number; daily: number }> {
  const { rows } = await fixture.database.pool.query<{ usage_count: string; daily: string }>(
    `select (select coalesce(sum(usage_count), 0) from public.agent_library where organization_id = $1 and librechat_agent_id = any($2)) as usage_count,
            (select coalesce(sum(d.uses), 0) from public.library_usage_daily d
               join public.agent_library a on a.id = d.item_id
              where a.organization_id = $1 and a.librechat_agent_id = any($2)) as daily`,
    [fixture.member.organizationId, ids],
  );
  return { usageCount: Number(rows[0]!.usage_count), daily: Number(rows[0]!.daily) };
}

export async function usageBench(fixture: DeliveryFixture, agentIds: string[]): Promise<BenchResult[]> {
  const { context, lcs, store, member } = fixture;
  const sizes = context.quick ? { events: 20_000, items: 500, single: 200 } : { events: 200_000, items: 2000, single: 2000 };
  if (agentIds.length < sizes.items + 100) throw new Error('usage bench needs the agents written by the delivery bench');
  const bufferedIds = agentIds.slice(0, sizes.items);
  const singleIds = agentIds.slice(sizes.items, sizes.items + 100);

  // Baseline: one call per event.
  let started = performance.now();
  for (let i = 0; i < sizes.single; i += 1) {
    await store.recordUsage([{ itemType: 'agent', librechatId: singleIds[i % singleIds.length]!, organizationId: member.organizationId, uses: 1, lastUsedAt: new Date() }]);
  }
  const singleRate = sizes.single / ((performance.now() - started) / 1000);
  const singleCounts = await countedUses(fixture, singleIds);
  if (singleCounts.usageCount !== sizes.single) throw new Error(`baseline: ${singleCounts.usageCount} uses counted for ${sizes.single} events`);
  context.log(`usage baseline: ${round(singleRate, 0)} events/s (one call per event)`);

  const { organizations, usage } = lcs.internals;
  const recordedBefore = usage.recorded;
  const { result: seconds, memory } = await measureMemory(async () => {
    const begin = performance.now();
    for (let i = 0; i < sizes.events; i += 1) {
      // What trackUsage does once a chat finished: the user's organization (cached), then one in-memory increment.
      const organization = await organizations.forUser(member.user);
      usage.record({ organizationId: organization!.id, itemType: 'agent', librechatId: bufferedIds[i % bufferedIds.length]!, at: new Date() });
      // Events arrive over many event-loop turns in a server: let timers (the 1 s flush) and I/O run.
      if (i % 5000 === 4999) await new Promise((resolve) => setImmediate(resolve));
    }
    await usage.flush();
    return (performance.now() - begin) / 1000;
  });
  const counts = await countedUses(fixture, bufferedIds);
  const exact = counts.usageCount === sizes.events && counts.daily === sizes.events && usage.recorded - recordedBefore === sizes.events;
  const rate = sizes.events / seconds;
  context.log(`usage buffered: ${round(rate, 0)} events/s, counted ${counts.usageCount} / daily ${counts.daily} of ${sizes.events}`);
  return [
    {
      name: 'usage ingestion, UsageBuffer → lcs_record_usage',
      // Counts that are not exact make the rate meaningless: report 0 so the row fails.
      value: exact ? round(rate, 0) : 0,
      unit: 'events/s',
      target: { op: '>=', value: TARGET_PER_SECOND },
      baseline: round(singleRate, 0),
      note:
        `${sizes.events} events over ${sizes.items} agents in ${round(seconds, 2)} s; counts ${exact ? 'exact' : 'NOT EXACT'}: ` +
        `usage_count sum ${counts.usageCount}, daily rollup ${counts.daily}; baseline ${sizes.single} events one call each (counted ${singleCounts.usageCount})`,
    },
    {
      name: `usage memory, ${sizes.events} events`,
      value: round(memory.heapPeakMb - memory.heapBeforeMb, 1),
      unit: 'MB heap',
      note: describeMemory(memory),
    },
  ];
}
