/**
 * resolveCategory: which category a library row gets when an item is synced, and where it came from.
 *
 * Precedence: a category an admin set by hand in Supabase (`manual`) is never overwritten; otherwise the category
 * the author picked in LibreChat, unless it is LibreChat's default (`general`, or none); otherwise inferred.
 */
import { GENERAL_CATEGORY } from './taxonomy.js';
import { inferCategory, type CategorizableItem, type InferCategoryOptions } from './category.js';

export type CategorySource = 'librechat' | 'inferred' | 'manual';

export interface ResolveCategoryInput {
  /** The item's `category` in LibreChat (agents default to `general`; prompt groups may have none). */
  librechatCategory?: string | null;
  /** The category stored in the library row, if the row exists. */
  storedCategory?: string | null;
  /** The row's `category_source`. */
  storedSource?: CategorySource | string | null;
  /** The item's text, used when the category has to be inferred. */
  item: CategorizableItem;
}

export interface ResolvedCategory {
  category: string;
  source: CategorySource;
  /** Set when the category was inferred. */
  confidence?: number;
}

export function resolveCategory(input: ResolveCategoryInput, options?: InferCategoryOptions): ResolvedCategory {
  const stored = clean(input.storedCategory);
  if (input.storedSource === 'manual' && stored) return { category: stored, source: 'manual' };

  const fromLibreChat = clean(input.librechatCategory);
  if (fromLibreChat && fromLibreChat.toLowerCase() !== GENERAL_CATEGORY) {
    return { category: fromLibreChat, source: 'librechat' };
  }

  const { category, confidence } = inferCategory(input.item ?? {}, options);
  return { category, source: 'inferred', confidence };
}

function clean(value: string | null | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed || undefined;
}
