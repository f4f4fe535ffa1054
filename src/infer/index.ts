/** infer: categories for library items and the variables of prompt texts. */
export {
  inferCategory,
  categoryScores,
  DEFAULT_THRESHOLD,
  DEFAULT_FIELD_WEIGHTS,
  type CategorizableItem,
  type CategoryInference,
  type FieldWeights,
  type InferCategoryOptions,
} from './category.js';
export {
  DEFAULT_CATEGORIES,
  GENERAL_CATEGORY,
  type CategoryDefinition,
  type DefaultCategory,
  type Taxonomy,
} from './taxonomy.js';
export { resolveCategory, type CategorySource, type ResolveCategoryInput, type ResolvedCategory } from './resolve.js';
export { extractVariables, LIBRECHAT_SPECIAL_VARIABLES, type PromptVariable } from './variables.js';
