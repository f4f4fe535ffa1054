import type { RpcTransport } from './transport.js';

/**
 * What the Supabase → LibreChat direction reads from and writes back to Supabase: one call to a SQL function of
 * supabase/migrations/20261121000600_library_access.sql each, over a direct connection or supabase-js RPC.
 */

export interface OrganizationAccessRow {
  id: string;
  name: string;
  slug: string;
  librechat_group_id: string | null;
  librechat_tenant_id: string | null;
  members: Array<{ librechat_user_id: string | null; email: string | null }>;
  agents: Array<{ id: string; librechat_agent_id: string; librechat_mongo_id: string | null; is_template: boolean }>;
  prompts: Array<{ id: string; librechat_group_id: string; librechat_mongo_id: string | null; is_template: boolean }>;
}

export interface AgentTemplateRow {
  id: string;
  organization_id: string;
  librechat_tenant_id: string | null;
  librechat_agent_id: string | null;
  librechat_mongo_id: string | null;
  name: string;
  description: string | null;
  instructions: string | null;
  provider: string | null;
  model: string | null;
  model_parameters: Record<string, unknown> | null;
  tools: string[] | null;
  conversation_starters: string[] | null;
  avatar: { filepath?: string; source?: string } | null;
  category: string | null;
  is_active: boolean;
  template_pushed_hash: string | null;
  template_note: string | null;
  content_hash: string;
}

export interface PromptTemplateRow {
  id: string;
  organization_id: string;
  librechat_tenant_id: string | null;
  librechat_group_id: string | null;
  librechat_mongo_id: string | null;
  librechat_production_prompt_id: string | null;
  name: string;
  oneliner: string | null;
  command: string | null;
  category: string | null;
  prompt_text: string | null;
  prompt_type: string | null;
  is_active: boolean;
  template_pushed_hash: string | null;
  template_note: string | null;
  content_hash: string;
}

/** List fields of an organization agent (never instructions, tools or model settings). */
export interface OrganizationAgentListItem {
  library_id: string;
  librechat_agent_id: string;
  librechat_mongo_id: string | null;
  name: string;
  description: string | null;
  avatar: { filepath?: string; source?: string } | null;
  category: string | null;
  conversation_starters: string[] | null;
  librechat_author_id: string | null;
  is_template: boolean;
  is_default: boolean;
  updated_at: string;
}

export interface OrganizationPromptListItem {
  library_id: string;
  librechat_group_id: string;
  librechat_production_prompt_id: string | null;
  name: string;
  oneliner: string | null;
  command: string | null;
  category: string | null;
  prompt_text: string | null;
  librechat_author_id: string | null;
  usage_count: number | string;
  is_template: boolean;
  is_default: boolean;
  created_at: string;
  updated_at: string;
}

export class AccessDirectory {
  constructor(private readonly transport: RpcTransport) {}

  async fingerprints(): Promise<Record<string, string>> {
    return (await this.transport.call<Record<string, string> | null>('lcs_access_fingerprints', {})) ?? {};
  }

  /** Organizations with members and live item ids; all when `organizationIds` is undefined. */
  async organizations(organizationIds?: string[]): Promise<OrganizationAccessRow[]> {
    return (await this.transport.call<OrganizationAccessRow[] | null>('lcs_organization_access', { organization_ids: organizationIds ?? null })) ?? [];
  }

  async setOrganizationGroup(organizationId: string, groupId: string, expected: string | null): Promise<{ librechat_group_id: string | null; changed: boolean } | null> {
    return this.transport.call('lcs_set_organization_group', { organization_id: organizationId, librechat_group_id: groupId, expected_group_id: expected });
  }

  async templates(organizationId?: string): Promise<{ agents: AgentTemplateRow[]; prompts: PromptTemplateRow[] }> {
    const result = await this.transport.call<{ agents: AgentTemplateRow[]; prompts: PromptTemplateRow[] } | null>('lcs_library_templates', {
      organization_id: organizationId ?? null,
    });
    return { agents: result?.agents ?? [], prompts: result?.prompts ?? [] };
  }

  async linkTemplate(itemType: 'agent' | 'prompt', libraryId: string, librechatId: string, mongoId: string, productionPromptId?: string): Promise<{ linked: boolean }> {
    return this.transport.call('lcs_link_template', {
      item_type: itemType,
      library_id: libraryId,
      librechat_id: librechatId,
      librechat_mongo_id: mongoId,
      production_prompt_id: productionPromptId ?? null,
    });
  }

  async markTemplatePushed(
    itemType: 'agent' | 'prompt',
    libraryId: string,
    pushed: { hash: string | null; note: string | null; sourceUpdatedAt?: Date; productionPromptId?: string },
  ): Promise<void> {
    await this.transport.call('lcs_mark_template_pushed', {
      item_type: itemType,
      library_id: libraryId,
      pushed_hash: pushed.hash,
      note: pushed.note,
      source_updated_at: pushed.sourceUpdatedAt?.toISOString() ?? null,
      production_prompt_id: pushed.productionPromptId ?? null,
    });
  }

  async agentList(organizationId: string, maxItems: number): Promise<OrganizationAgentListItem[]> {
    return (await this.transport.call<OrganizationAgentListItem[] | null>('lcs_organization_library_list', {
      organization_id: organizationId,
      item_type: 'agent',
      max_items: maxItems,
    })) ?? [];
  }

  async promptList(organizationId: string, maxItems: number): Promise<OrganizationPromptListItem[]> {
    return (await this.transport.call<OrganizationPromptListItem[] | null>('lcs_organization_library_list', {
      organization_id: organizationId,
      item_type: 'prompt',
      max_items: maxItems,
    })) ?? [];
  }
}
