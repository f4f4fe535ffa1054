import { describe, expect, it } from 'vitest';
import { extractVariables, LIBRECHAT_SPECIAL_VARIABLES } from '../../src/infer/index.js';

describe('extractVariables', () => {
  it('trims names and keeps first-appearance order without duplicates', () => {
    expect(extractVariables('Hi {{ name }}, about {{topic}}: {{name}} again, {{  topic  }}.')).toEqual([
      { name: 'name' },
      { name: 'topic' },
    ]);
  });

  it('reads dropdowns as a name plus trimmed options, dropping empty ones', () => {
    expect(extractVariables('Write in a {{tone: formal | casual || friendly |}} tone for {{audience:}}.')).toEqual([
      { name: 'tone', options: ['formal', 'casual', 'friendly'] },
      { name: 'audience' },
    ]);
    expect(extractVariables('{{lang:en|de|en}}')).toEqual([{ name: 'lang', options: ['en', 'de'] }]);
  });

  it('keeps the first position of a repeated variable and the options of a later dropdown form', () => {
    expect(extractVariables('{{tone}} then {{topic}} then {{tone:formal|casual}}')).toEqual([
      { name: 'tone', options: ['formal', 'casual'] },
      { name: 'topic' },
    ]);
    expect(extractVariables('{{tone:a|b}} {{tone:c}}')).toEqual([{ name: 'tone', options: ['a', 'b'] }]);
  });

  it("excludes LibreChat's built-in variables, in any case and spacing", () => {
    expect([...LIBRECHAT_SPECIAL_VARIABLES].sort()).toEqual(['current_date', 'current_datetime', 'current_user', 'iso_datetime']);
    const text = 'Today is {{current_date}} ({{ CURRENT_DATETIME }}, {{iso_datetime}}); I am {{Current_User}}. Task: {{task}}';
    expect(extractVariables(text)).toEqual([{ name: 'task' }]);
  });

  it('ignores malformed and empty placeholders and handles nested braces sensibly', () => {
    expect(extractVariables('{{}} {{ }} {{:a|b}} {single} {{ open and {{done}}')).toEqual([{ name: 'done' }]);
    expect(extractVariables('{{outer {{inner}} }}')).toEqual([{ name: 'inner' }]);
    expect(extractVariables('{{{triple}}}')).toEqual([{ name: 'triple' }]);
    expect(extractVariables('{{split\nacross lines}}')).toEqual([]);
    expect(extractVariables(`{{${'x'.repeat(101)}}}`)).toEqual([]);
  });

  it('keeps case-distinct names apart, as LibreChat does, and accepts non-Latin names', () => {
    expect(extractVariables('{{Name}} {{name}} {{имя}} {{名前:はい|いいえ}}')).toEqual([
      { name: 'Name' },
      { name: 'name' },
      { name: 'имя' },
      { name: '名前', options: ['はい', 'いいえ'] },
    ]);
  });

  it('returns an empty list for text without variables and for non-strings', () => {
    expect(extractVariables('No variables here.')).toEqual([]);
    expect(extractVariables('')).toEqual([]);
    expect(extractVariables(null)).toEqual([]);
    expect(extractVariables(undefined)).toEqual([]);
    expect(extractVariables(42 as unknown as string)).toEqual([]);
  });

  it('gives the same answer on repeated calls (no state left in the shared pattern)', () => {
    const text = '{{a}} {{b:x|y}}';
    expect(extractVariables(text)).toEqual(extractVariables(text));
    expect(extractVariables('{{c}}')).toEqual([{ name: 'c' }]);
  });
});
