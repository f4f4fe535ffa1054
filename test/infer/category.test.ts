import { describe, expect, it } from 'vitest';
import { categoryScores, DEFAULT_CATEGORIES, inferCategory, type Taxonomy } from '../../src/infer/index.js';
import { stem, tokenize } from '../../src/infer/tokenize.js';
import { isLcsError } from '../../src/core/errors.js';

/** The words the original first-match substring search got wrong, each as a keyword of its own category. */
const TRAP_TAXONOMY: Taxonomy = {
  support: { keywords: ['help'] },
  people: { keywords: ['hr'] },
  analytics: { keywords: ['data'] },
  planning: { keywords: ['plan'] },
  operations: { keywords: ['ops'] },
  sales: { keywords: ['lead'] },
};

function trapScore(text: string, category: string): number {
  return categoryScores({ name: text }, { categories: TRAP_TAXONOMY })[category]!;
}

describe('inferCategory: whole words, not substrings (origin defects)', () => {
  it.each([
    ['help', 'support', 'A helpful assistant that is unhelpful at times', 'Help me'],
    ['hr', 'people', 'Three Chrome extensions for throughput', 'HR questions'],
    ['data', 'analytics', 'Database tuning and metadata', 'Data cleanup'],
    ['plan', 'planning', 'An explanation of the planets and planetary orbits', 'Plan my week'],
    ['ops', 'operations', 'Workshops and shops for developers', 'Ops on-call'],
    ['lead', 'sales', 'Leadership coaching and mislead detection', 'Qualify each lead'],
  ])('`%s` does not match inside longer words', (_keyword, category, trap, real) => {
    expect(trapScore(trap, category)).toBe(0);
    expect(inferCategory({ name: trap }, { categories: TRAP_TAXONOMY }).category).toBe('general');
    expect(trapScore(real, category)).toBeGreaterThan(0);
    expect(inferCategory({ name: real }, { categories: TRAP_TAXONOMY }).category).toBe(category);
  });

  it('still matches plural and -ing/-ed forms of a keyword', () => {
    expect(trapScore('Helping with leads', 'support')).toBeGreaterThan(0);
    expect(trapScore('Helping with leads', 'sales')).toBeGreaterThan(0);
    expect(trapScore('Planned and planning', 'planning')).toBeGreaterThan(0);
  });

  it('the default taxonomy avoids the same traps', () => {
    const scores = (text: string) => categoryScores({ name: text, description: text, instructions: text });
    expect(scores('A helpful, unhelpful helper').customer_support).toBe(0);
    expect(scores('Three tips for Chrome').hr_people).toBe(0);
    expect(scores('Explanation of planets').operations_productivity).toBe(0);
    expect(scores('Workshops').operations_productivity).toBe(0);
    expect(scores('Leadership').sales_marketing).toBe(0);
    // "database" is deliberately an engineering word; it must not count as "data".
    expect(scores('Database').data_analytics).toBe(0);
    expect(scores('Database').engineering).toBeGreaterThan(0);
    expect(inferCategory({ name: 'Helpful Assistant', instructions: 'You are a helpful assistant.' }).category).toBe('general');
    expect(inferCategory({ name: 'Three wise men', description: 'Chrome themes' }).category).toBe('general');
  });
});

describe('inferCategory: scoring', () => {
  it('weighs the name above the description above the instructions', () => {
    const taxonomy: Taxonomy = { alpha: { keywords: ['alpha'] }, beta: { keywords: ['beta'] } };
    const options = { categories: taxonomy, threshold: 0 };
    expect(inferCategory({ name: 'alpha', description: 'beta' }, options).category).toBe('alpha');
    expect(inferCategory({ name: 'beta', description: 'alpha' }, options).category).toBe('beta');
    expect(inferCategory({ description: 'alpha', instructions: 'beta' }, options).category).toBe('alpha');
    expect(inferCategory({ description: 'beta', instructions: 'alpha' }, options).category).toBe('beta');
    expect(categoryScores({ name: 'alpha' }, options).alpha).toBe(3);
    expect(categoryScores({ description: 'alpha' }, options).alpha).toBe(2);
    expect(categoryScores({ instructions: 'alpha' }, options).alpha).toBe(1);
    expect(categoryScores({ instructions: 'alpha' }, { ...options, fieldWeights: { instructions: 5 } }).alpha).toBe(5);
  });

  it('counts a word once per field however often it repeats', () => {
    const taxonomy: Taxonomy = { alpha: { keywords: ['alpha'] } };
    expect(categoryScores({ instructions: 'alpha alpha alphas alpha' }, { categories: taxonomy }).alpha).toBe(1);
  });

  it('matches phrases as consecutive words and weighs them', () => {
    const taxonomy: Taxonomy = {
      support: { keywords: { desk: 1 }, phrases: { 'help desk': 4 } },
      other: { keywords: { help: 1 } },
    };
    expect(categoryScores({ instructions: 'the help desk' }, { categories: taxonomy }).support).toBe(5);
    expect(categoryScores({ instructions: 'help at the desk' }, { categories: taxonomy }).support).toBe(1);
    expect(categoryScores({ instructions: 'Help-desks' }, { categories: taxonomy }).support).toBe(5);
  });

  it('falls back to general below the threshold and reports a confidence in 0..1', () => {
    const weak = inferCategory({ instructions: 'Keep answers short. Mention the deadline if there is one.' });
    expect(weak.category).toBe('general');
    const strong = inferCategory({ name: 'Invoice Checker', description: 'Checks vendor invoices and VAT' });
    expect(strong.category).toBe('finance_legal');
    for (const result of [weak, strong]) {
      expect(result.confidence).toBeGreaterThanOrEqual(0);
      expect(result.confidence).toBeLessThanOrEqual(1);
    }
    expect(strong.confidence).toBeGreaterThan(0.5);
    // The same item with a threshold above its confidence is general.
    expect(inferCategory({ name: 'Invoice Checker', description: 'Checks vendor invoices and VAT' }, { threshold: 0.99 }).category).toBe('general');
  });

  it('treats a near tie between two categories as not confident', () => {
    const taxonomy: Taxonomy = { alpha: { keywords: ['alpha'] }, beta: { keywords: ['beta'] } };
    const tie = inferCategory({ name: 'alpha beta' }, { categories: taxonomy });
    expect(tie.category).toBe('general');
    const clear = inferCategory({ name: 'alpha' }, { categories: taxonomy });
    expect(clear.category).toBe('alpha');
  });

  it('handles empty, missing and non-string fields', () => {
    expect(inferCategory({})).toEqual({ category: 'general', confidence: 1 });
    expect(inferCategory({ name: '', description: null, instructions: undefined }).category).toBe('general');
    expect(inferCategory({ name: 42 as unknown as string }).category).toBe('general');
    expect(inferCategory({ name: 'Contract Redliner' }, { fallbackCategory: 'other', threshold: 0.99 }).category).toBe('other');
  });

  it('is unicode-aware: accents, other scripts, camel case', () => {
    expect(tokenize('Résumé Screener').words).toEqual(tokenize('resume screener').words);
    expect(tokenize('Café, naïve — 東京 данные').words).toEqual(['cafe', 'naive', '東京', 'данные']);
    expect(tokenize('SalesBot HRHelper KPIs').camelParts).toEqual(['sale', 'bot', 'hr', 'helper']);
    expect(tokenize('KPIs').words).toEqual(['kpi']);
    expect(inferCategory({ name: 'SalesBot' }).category).toBe('sales_marketing');
    expect(inferCategory({ name: 'Agente de ventas', description: 'Correos para clientes potenciales' }).category).toBe('sales_marketing');
    expect(inferCategory({ name: 'Comptabilité', description: 'Factures et TVA' }).category).toBe('finance_legal');
    const custom: Taxonomy = { daten: { keywords: ['данные'] } };
    expect(inferCategory({ name: 'Анализ: данные' }, { categories: custom }).category).toBe('daten');
  });

  it('stems plurals, -ing and -ed without merging different words', () => {
    expect(stem('invoices')).toBe('invoice');
    expect(stem('policies')).toBe('policy');
    expect(stem('taxes')).toBe('tax');
    expect(stem('processes')).toBe('process');
    expect(stem('planning')).toBe('plan');
    expect(stem('planned')).toBe('plan');
    expect(stem('billing')).toBe('bill');
    expect(stem('analysis')).toBe('analysis');
    expect(stem('status')).toBe('status');
    expect(stem('string')).toBe('string');
    expect(stem('planets')).toBe('planet');
    expect(stem('accounting')).toBe('accounting');
    // "scheduled" meets the keyword "schedule" through its e-less form.
    const taxonomy: Taxonomy = { ops: { keywords: ['schedule'] } };
    expect(categoryScores({ name: 'Scheduled and scheduling' }, { categories: taxonomy }).ops).toBe(3);
    expect(categoryScores({ name: 'plane' }, { categories: { x: { keywords: ['plan'] } } }).x).toBe(0);
  });

  it('uses a custom taxonomy and threshold, and the default has nine categories plus general words', () => {
    const taxonomy: Taxonomy = { cooking: { keywords: { recipe: 3, bake: 2 }, phrases: { 'sous vide': 4 } } };
    expect(inferCategory({ name: 'Sous-vide timings' }, { categories: taxonomy })).toEqual({ category: 'cooking', confidence: expect.any(Number) });
    expect(inferCategory({ name: 'Invoice Checker' }, { categories: taxonomy }).category).toBe('general');
    const businessCategories = Object.keys(DEFAULT_CATEGORIES).filter((id) => id !== 'general');
    expect(businessCategories).toEqual([
      'sales_marketing', 'customer_support', 'engineering', 'data_analytics', 'writing_content',
      'hr_people', 'finance_legal', 'operations_productivity', 'education_research',
    ]);
    for (const id of businessCategories) {
      const definition = DEFAULT_CATEGORIES[id as keyof typeof DEFAULT_CATEGORIES];
      expect(Object.keys(definition.keywords).length + Object.keys(definition.phrases).length).toBeGreaterThanOrEqual(40);
    }
  });

  it('rejects a malformed taxonomy or threshold with a clear LcsError', () => {
    const attempts: Array<[unknown, RegExp]> = [
      [{ categories: {} }, /at least one category/],
      [{ categories: { sales: 'crm' } }, /category "sales" must be an object/],
      [{ categories: { sales: { keywords: { crm: 0 } } } }, /"sales.keywords" gives "crm" the weight 0/],
      [{ categories: { sales: { keywords: { crm: 'high' } } } }, /weights are positive numbers/],
      [{ categories: { sales: { keywords: 'crm' } } }, /must be an array of words or an object/],
      [{ categories: { sales: { phrases: ['!!'] } } }, /no letters or digits/],
      [{ threshold: 2 }, /threshold must be a number from 0 to 1/],
      [{ fieldWeights: { name: -1 } }, /fieldWeights.name must be a number ≥ 0/],
    ];
    for (const [options, message] of attempts) {
      let thrown: unknown;
      try {
        inferCategory({ name: 'x' }, options as never);
      } catch (error) {
        thrown = error;
      }
      expect(isLcsError(thrown), String(message)).toBe(true);
      expect((thrown as Error).message).toMatch(message);
    }
  });

  it('infers one item in microseconds (taxonomy compiled once)', () => {
    const item = {
      name: 'Support Reply Drafter',
      description: 'Drafts replies to customer emails about refunds, returns and delivery problems',
      instructions: 'Read the customer message, look up the order status, apologize where appropriate and explain the next step. '.repeat(8),
    };
    inferCategory(item);
    const runs = 5000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < runs; i++) inferCategory(item);
    const micros = Number(process.hrtime.bigint() - started) / 1000 / runs;
    console.log(`inferCategory: ${micros.toFixed(1)} µs per item (${item.instructions.length + item.description.length} chars)`);
    expect(micros).toBeLessThan(500);
  });
});
