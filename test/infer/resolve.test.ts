import { describe, expect, it } from 'vitest';
import { resolveCategory } from '../../src/infer/index.js';

const invoiceAgent = { name: 'Invoice Checker', description: 'Checks vendor invoices against purchase orders', instructions: '' };

describe('resolveCategory', () => {
  it('never overwrites a manual category', () => {
    expect(
      resolveCategory({ librechatCategory: 'sales', storedCategory: 'hr_people', storedSource: 'manual', item: invoiceAgent }),
    ).toEqual({ category: 'hr_people', source: 'manual' });
    expect(
      resolveCategory({ librechatCategory: 'general', storedCategory: 'engineering', storedSource: 'manual', item: invoiceAgent }),
    ).toEqual({ category: 'engineering', source: 'manual' });
  });

  it("uses LibreChat's own category unless it is the default", () => {
    expect(resolveCategory({ librechatCategory: 'finance', item: invoiceAgent })).toEqual({ category: 'finance', source: 'librechat' });
    expect(
      resolveCategory({ librechatCategory: ' rd ', storedCategory: 'engineering', storedSource: 'inferred', item: invoiceAgent }),
    ).toEqual({ category: 'rd', source: 'librechat' });
  });

  it('infers when LibreChat has no category or its default, replacing earlier inferred or librechat values', () => {
    for (const librechatCategory of [undefined, null, '', '  ', 'general', 'General']) {
      const resolved = resolveCategory({ librechatCategory, storedCategory: 'sales_marketing', storedSource: 'inferred', item: invoiceAgent });
      expect(resolved.category).toBe('finance_legal');
      expect(resolved.source).toBe('inferred');
      expect(resolved.confidence).toBeGreaterThan(0);
    }
    expect(resolveCategory({ librechatCategory: 'general', storedCategory: 'hr', storedSource: 'librechat', item: invoiceAgent }).source).toBe(
      'inferred',
    );
  });

  it('a manual source without a stored category does not count as manual', () => {
    expect(resolveCategory({ storedCategory: '', storedSource: 'manual', item: invoiceAgent }).source).toBe('inferred');
  });

  it('infers general for an item with no telling words and passes options through', () => {
    expect(resolveCategory({ item: { name: 'Assistant' } })).toMatchObject({ category: 'general', source: 'inferred' });
    expect(
      resolveCategory({ item: { name: 'Sourdough baking' } }, { categories: { baking: { keywords: ['sourdough'] } } }),
    ).toMatchObject({ category: 'baking', source: 'inferred' });
  });
});
