/**
 * extractVariables: the fields a user fills in when using a LibreChat prompt.
 *
 * LibreChat prompt text marks variables as `{{name}}` and dropdowns as `{{name:option 1|option 2}}`. The special
 * variables below are filled in by LibreChat itself, so they are not variables of the prompt.
 */

export interface PromptVariable {
  name: string;
  /** Dropdown choices, when the variable was written `{{name:a|b}}`. */
  options?: string[];
}

/**
 * LibreChat's built-in variables: the keys of `specialVariables` in librechat-data-provider (checked against
 * v0.8.x, npm 0.8.524), which `replaceSpecialVars` fills in case-insensitively and ignoring spaces inside the braces.
 */
export const LIBRECHAT_SPECIAL_VARIABLES: ReadonlySet<string> = new Set([
  'current_date',
  'current_user',
  'current_datetime',
  'iso_datetime',
]);

// The innermost `{{…}}` on one line: braces inside are not allowed, so `{{a{{b}}}}` yields `b` and `{{{x}}}` yields `x`.
const PLACEHOLDER = /\{\{([^{}\r\n]*)\}\}/g;
/** Longer "names" are prose or code between braces, not a variable. */
const MAX_NAME_LENGTH = 100;

/**
 * The variables of a prompt text in order of first appearance, each once. A repeated variable keeps its first
 * position; if only a later occurrence lists dropdown options, those options are kept.
 */
export function extractVariables(text: string | null | undefined): PromptVariable[] {
  if (typeof text !== 'string' || !text.includes('{{')) return [];
  const variables: PromptVariable[] = [];
  const byName = new Map<string, PromptVariable>();
  PLACEHOLDER.lastIndex = 0;
  for (let match = PLACEHOLDER.exec(text); match !== null; match = PLACEHOLDER.exec(text)) {
    const body = match[1]!;
    const colon = body.indexOf(':');
    const name = (colon < 0 ? body : body.slice(0, colon)).trim();
    if (!name || name.length > MAX_NAME_LENGTH || LIBRECHAT_SPECIAL_VARIABLES.has(name.toLowerCase())) continue;
    const options = colon < 0 ? [] : dropdownOptions(body.slice(colon + 1));

    const existing = byName.get(name);
    if (existing) {
      if (!existing.options && options.length > 0) existing.options = options;
      continue;
    }
    const variable: PromptVariable = options.length > 0 ? { name, options } : { name };
    byName.set(name, variable);
    variables.push(variable);
  }
  return variables;
}

function dropdownOptions(list: string): string[] {
  const options: string[] = [];
  for (const raw of list.split('|')) {
    const option = raw.trim();
    if (option && !options.includes(option)) options.push(option);
  }
  return options;
}
