/**
 * inferCategory: which library category an agent or prompt belongs to, from its own words.
 *
 * Each field is tokenized into whole, stemmed words; every keyword and phrase of a category found in a field
 * adds its weight once, times the field's weight (a name says more than a paragraph of instructions). The best
 * category wins only when it is both strong and clearly ahead of the runner-up; otherwise the item is `general`.
 * Taxonomies are compiled once (cached per taxonomy object), so a call does no regex or index building.
 */
import { LcsError } from '../core/errors.js';
import { DEFAULT_CATEGORIES, GENERAL_CATEGORY, type CategoryDefinition, type Taxonomy } from './taxonomy.js';
import { termVariants, tokenize } from './tokenize.js';

/** The text of an agent (name, description, instructions) or a prompt group (name, oneliner, prompt text). */
export interface CategorizableItem {
  name?: string | null;
  description?: string | null;
  instructions?: string | null;
}

export interface FieldWeights {
  name: number;
  description: number;
  instructions: number;
}

export interface InferCategoryOptions {
  /** Category id → keywords and phrases. Default: DEFAULT_CATEGORIES. */
  categories?: Taxonomy;
  /** Minimum confidence (0..1) for a category; below it the fallback category is returned. Default 0.3. */
  threshold?: number;
  /** How much a match counts in each field. Default name 3, description 2, instructions 1. */
  fieldWeights?: Partial<FieldWeights>;
  /** Returned when no category is confident enough. Default `general`. */
  fallbackCategory?: string;
}

export interface CategoryInference {
  category: string;
  /** 0..1: how sure the inference is of `category` (for the fallback: how clearly nothing else fits). */
  confidence: number;
}

export const DEFAULT_THRESHOLD = 0.3;
export const DEFAULT_FIELD_WEIGHTS: Readonly<FieldWeights> = Object.freeze({ name: 3, description: 2, instructions: 1 });
/** Instructions can be pages long; the opening says what the agent is for, the rest mostly how. */
const MAX_FIELD_CHARS = 6000;
/** Score at which strength reaches ~63%: about one typical keyword in a name, or two strong ones in a text. */
const STRENGTH_SCALE = 6;

interface Term {
  id: number;
  category: number;
  weight: number;
}

interface PhraseTerm extends Term {
  /** Accepted stemmed forms of each word after the first. */
  rest: ReadonlySet<string>[];
}

interface CompiledTaxonomy {
  categoryIds: string[];
  termCount: number;
  keywords: Map<string, Term[]>;
  /** Phrases indexed by each accepted form of their first word. */
  phrases: Map<string, PhraseTerm[]>;
}

const compiledTaxonomies = new WeakMap<object, CompiledTaxonomy>();

/** Infers the category of an agent or prompt. Unknown or empty text yields the fallback category. */
export function inferCategory(item: CategorizableItem, options: InferCategoryOptions = {}): CategoryInference {
  const taxonomy = compiledFor(options.categories ?? DEFAULT_CATEGORIES);
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  if (!(threshold >= 0 && threshold <= 1)) {
    throw new LcsError('LCS_INFER_THRESHOLD', `inferCategory: threshold must be a number from 0 to 1 (got ${String(threshold)}).`, {
      hint: 'Pass e.g. { threshold: 0.3 }, or leave it out for the default.',
    });
  }
  const weights = fieldWeightsOf(options);
  const fallback = options.fallbackCategory ?? GENERAL_CATEGORY;

  const scores = scoreItem(taxonomy, item, weights);

  let best = -1;
  let top = 0;
  let runnerUp = 0;
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i]!;
    if (score > top) {
      runnerUp = top;
      top = score;
      best = i;
    } else if (score > runnerUp) {
      runnerUp = score;
    }
  }
  const confidence = best < 0 ? 0 : confidenceOf(top, runnerUp);
  if (best < 0 || confidence < threshold) return { category: fallback, confidence: round(1 - confidence) };
  return { category: taxonomy.categoryIds[best]!, confidence: round(confidence) };
}

/** Per-category scores of an item, in taxonomy order (for inferCategory and for explaining a result). */
export function categoryScores(item: CategorizableItem, options: InferCategoryOptions = {}): Record<string, number> {
  const taxonomy = compiledFor(options.categories ?? DEFAULT_CATEGORIES);
  const scores = scoreItem(taxonomy, item, fieldWeightsOf(options));
  return Object.fromEntries(taxonomy.categoryIds.map((id, i) => [id, round(scores[i]!)]));
}

function fieldWeightsOf(options: InferCategoryOptions): Readonly<FieldWeights> {
  if (!options.fieldWeights) return DEFAULT_FIELD_WEIGHTS;
  const weights = { ...DEFAULT_FIELD_WEIGHTS, ...options.fieldWeights };
  for (const [field, weight] of Object.entries(weights)) {
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new LcsError('LCS_INFER_FIELD_WEIGHTS', `inferCategory: fieldWeights.${field} must be a number ≥ 0 (got ${String(weight)}).`, {
        hint: 'Pass e.g. { fieldWeights: { name: 3, description: 2, instructions: 1 } }; 0 ignores a field.',
      });
    }
  }
  return weights;
}

function scoreItem(taxonomy: CompiledTaxonomy, item: CategorizableItem, weights: Readonly<FieldWeights>): Float64Array {
  const scores = new Float64Array(taxonomy.categoryIds.length);
  const seen = new Uint8Array(taxonomy.termCount);
  scoreField(taxonomy, item?.name, weights.name, scores, seen);
  scoreField(taxonomy, item?.description, weights.description, scores, seen);
  scoreField(taxonomy, item?.instructions, weights.instructions, scores, seen);
  return scores;
}

/**
 * Strength (how much evidence) times separation (how far ahead of the runner-up): one strong word in the name is
 * enough, a single weak word in long instructions is not, and a near tie between two categories is not either.
 */
function confidenceOf(top: number, runnerUp: number): number {
  const strength = 1 - Math.exp(-top / STRENGTH_SCALE);
  const separation = (top - runnerUp) / (top + runnerUp);
  return strength * (0.35 + 0.65 * separation);
}

function scoreField(
  taxonomy: CompiledTaxonomy,
  text: string | null | undefined,
  fieldWeight: number,
  scores: Float64Array,
  seen: Uint8Array,
): void {
  if (typeof text !== 'string' || text.length === 0 || fieldWeight <= 0) return;
  const { words, camelParts } = tokenize(text.length > MAX_FIELD_CHARS ? text.slice(0, MAX_FIELD_CHARS) : text);
  // A term counts once per field however often it is repeated; `seen` is reset for the next field below.
  const counted: number[] = [];
  const count = (term: Term) => {
    if (seen[term.id]) return;
    seen[term.id] = 1;
    counted.push(term.id);
    scores[term.category] = scores[term.category]! + term.weight * fieldWeight;
  };
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const keywordTerms = taxonomy.keywords.get(word);
    if (keywordTerms) for (const term of keywordTerms) count(term);
    const phraseTerms = taxonomy.phrases.get(word);
    if (phraseTerms) {
      for (const phrase of phraseTerms) {
        if (i + phrase.rest.length >= words.length) continue;
        let matches = true;
        for (let k = 0; k < phrase.rest.length && matches; k++) matches = phrase.rest[k]!.has(words[i + 1 + k]!);
        if (matches) count(phrase);
      }
    }
  }
  for (const part of camelParts) {
    const keywordTerms = taxonomy.keywords.get(part);
    if (keywordTerms) for (const term of keywordTerms) count(term);
  }
  for (const id of counted) seen[id] = 0;
}

function compiledFor(categories: Taxonomy): CompiledTaxonomy {
  let compiled = compiledTaxonomies.get(categories);
  if (!compiled) {
    compiled = compileTaxonomy(categories);
    compiledTaxonomies.set(categories, compiled);
  }
  return compiled;
}

/** Validates a taxonomy and builds its word indexes. Throws LCS_INFER_TAXONOMY naming the bad entry. */
export function compileTaxonomy(categories: Taxonomy): CompiledTaxonomy {
  if (categories === null || typeof categories !== 'object' || Object.keys(categories).length === 0) {
    throw taxonomyError('categories must be an object with at least one category id');
  }
  const compiled: CompiledTaxonomy = { categoryIds: [], termCount: 0, keywords: new Map(), phrases: new Map() };
  for (const [categoryId, definition] of Object.entries(categories)) {
    if (!categoryId.trim()) throw taxonomyError('a category id is empty');
    if (definition === null || typeof definition !== 'object') {
      throw taxonomyError(`category "${categoryId}" must be an object like { keywords, phrases }`);
    }
    const category = compiled.categoryIds.push(categoryId) - 1;
    for (const [term, weight] of entriesOf(categoryId, 'keywords', definition.keywords, 1)) {
      addTerm(compiled, categoryId, category, term, weight);
    }
    for (const [term, weight] of entriesOf(categoryId, 'phrases', definition.phrases, 2)) {
      addTerm(compiled, categoryId, category, term, weight);
    }
  }
  return compiled;
}

function entriesOf(
  categoryId: string,
  kind: 'keywords' | 'phrases',
  list: CategoryDefinition['keywords'],
  defaultWeight: number,
): Array<[string, number]> {
  if (list === undefined) return [];
  if (list === null || typeof list !== 'object') {
    throw taxonomyError(`"${categoryId}.${kind}" must be an array of words or an object of word → weight`);
  }
  const entries: Array<[string, unknown]> = Array.isArray(list)
    ? list.map((term: unknown) => [String(term), defaultWeight])
    : Object.entries(list);
  for (const [term, weight] of entries) {
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
      throw taxonomyError(`"${categoryId}.${kind}" gives "${term}" the weight ${String(weight)}; weights are positive numbers`);
    }
  }
  return entries as Array<[string, number]>;
}

/** A keyword of one word joins the keyword index; anything longer is a phrase, whichever list it came from. */
function addTerm(compiled: CompiledTaxonomy, categoryId: string, category: number, term: string, weight: number): void {
  const variants = termVariants(term);
  if (variants.length === 0) throw taxonomyError(`"${categoryId}" has a keyword with no letters or digits: "${term}"`);
  const id = compiled.termCount++;
  if (variants.length === 1) {
    for (const form of variants[0]!) {
      // "hire" and "hiring" share the form "hir": one word in the text must not count twice for a category.
      const sameCategory = compiled.keywords.get(form)?.find((existing) => existing.category === category);
      if (sameCategory) sameCategory.weight = Math.max(sameCategory.weight, weight);
      else push(compiled.keywords, form, { id, category, weight });
    }
    return;
  }
  const rest = variants.slice(1).map((forms) => new Set(forms));
  for (const form of variants[0]!) {
    // "role play" and "role playing" are one phrase once stemmed: keep one entry, with the larger weight.
    const same = compiled.phrases.get(form)?.find((existing) => existing.category === category && sameForms(existing.rest, rest));
    if (same) same.weight = Math.max(same.weight, weight);
    else push(compiled.phrases, form, { id, category, weight, rest });
  }
}

function sameForms(a: ReadonlySet<string>[], b: ReadonlySet<string>[]): boolean {
  return a.length === b.length && a.every((forms, i) => forms.size === b[i]!.size && [...forms].every((f) => b[i]!.has(f)));
}

function push<T>(index: Map<string, T[]>, key: string, value: T): void {
  const list = index.get(key);
  if (list) list.push(value);
  else index.set(key, [value]);
}

function taxonomyError(problem: string): LcsError {
  return new LcsError('LCS_INFER_TAXONOMY', `inferCategory: invalid taxonomy: ${problem}.`, {
    hint: 'A taxonomy looks like { sales: { keywords: { crm: 3, pipeline: 1 }, phrases: { "cold email": 4 } } }.',
  });
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
