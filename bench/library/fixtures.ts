import { MongoClient, ObjectId } from 'mongodb';
import type pg from 'pg';
import { agentItem } from '../../src/library/items.js';
import type { AgentDocument } from '../../src/library/librechat-source.js';
import { createPgLibraryStore } from '../../src/library/store.js';
import type { LibreChatRequestUser } from '../../src/middleware/response.js';

/** A LibreChat user as `req.user` after LibreChat's auth, member of one organization in Supabase. */
export interface BenchMember {
  user: LibreChatRequestUser & { id: string; email: string };
  organizationId: string;
}

export async function seedOrganization(pool: pg.Pool, slug: string): Promise<BenchMember> {
  const user = { id: new ObjectId().toHexString(), email: `${slug}-member@bench.example`, name: 'Bench Member', role: 'USER' };
  const { rows } = await pool.query<{ id: string }>('insert into public.organizations (name, slug) values ($1, $2) returning id', [`Bench ${slug}`, slug]);
  const organizationId = rows[0]!.id;
  await pool.query('insert into public.organization_members (organization_id, librechat_user_id, email, role) values ($1, $2, $3, $4)', [
    organizationId,
    user.id,
    user.email,
    'member',
  ]);
  return { user: { ...user, _id: user.id }, organizationId };
}

const descriptions = [
  'Drafts outreach emails and follow-ups for the sales pipeline',
  'Reviews contracts and flags unusual liability clauses',
  'Explains Python stack traces and proposes a fix',
  'Summarizes support tickets and suggests a reply',
  'Plans a weekly content calendar for social media',
];

/** LibreChat agent documents as its mongoose model stores them (v0.8 shape, the fields sync reads). */
export function agentDocuments(prefix: string, count: number, authorId: string): AgentDocument[] {
  const author = new ObjectId(authorId);
  const updatedAt = new Date();
  return Array.from({ length: count }, (_, i) => ({
    _id: new ObjectId(),
    id: `agent_${prefix}${i}`,
    name: `${prefix} agent ${i}`,
    description: descriptions[i % descriptions.length],
    instructions: `You are agent ${i}. ${descriptions[i % descriptions.length]}. Answer briefly and cite sources.`,
    provider: 'openAI',
    model: 'gpt-4o',
    model_parameters: { temperature: 0.2 },
    tools: ['web_search'],
    conversation_starters: ['What can you do?'],
    category: 'general',
    author,
    projectIds: [],
    updatedAt,
  }));
}

/**
 * Writes the author and publicly shared agents into LibreChat's collections (`users`, `agents`, `aclentries` with a
 * `public` VIEW entry, as LibreChat v0.8's permissions route leaves them), for the delivery path to read.
 */
export async function seedLibreChat(mongoUrl: string, member: BenchMember, agents: AgentDocument[]): Promise<void> {
  const client = new MongoClient(mongoUrl);
  await client.connect();
  try {
    const db = client.db();
    await db.collection('users').updateOne(
      { _id: new ObjectId(member.user.id) },
      { $set: { email: member.user.email, name: 'Bench Member', role: 'USER', provider: 'local' } },
      { upsert: true },
    );
    for (let i = 0; i < agents.length; i += 1000) {
      const slice = agents.slice(i, i + 1000);
      await db.collection('agents').insertMany(slice.map((agent) => ({ ...agent, createdAt: agent.updatedAt })) as never[]);
      await db.collection('aclentries').insertMany(
        slice.map((agent) => ({
          principalType: 'public',
          principalId: null,
          resourceType: 'agent',
          resourceId: agent._id,
          permBits: 1,
          grantedBy: new ObjectId(member.user.id),
          grantedAt: new Date(),
        })),
      );
    }
  } finally {
    await client.close();
  }
}

/**
 * An organization with one member who authored `count` publicly shared agents, in LibreChat's Mongo and already in the
 * organization's library (so a list merge has `count` items to add).
 */
export async function seedSharedAgents(pool: pg.Pool, mongoUrl: string, slug: string, count: number): Promise<{ member: BenchMember; agentIds: string[] }> {
  const member = await seedOrganization(pool, slug);
  const documents = agentDocuments(slug, count, member.user.id);
  await seedLibreChat(mongoUrl, member, documents);
  const now = new Date().toISOString();
  await createPgLibraryStore(pool).upsertAgents(documents.map((doc) => agentItem(member.organizationId, doc, member.user.email, { sharedAt: now, shareScope: 'public' })));
  return { member, agentIds: documents.map((doc) => doc.id) };
}
