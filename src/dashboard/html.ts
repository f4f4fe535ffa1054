/**
 * A tiny tagged template for server-rendered HTML: every interpolated value is escaped unless it is already
 * `SafeHtml` (the result of another `html` template, or `trusted()` text we wrote ourselves). Arrays are joined.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (char) => ESCAPES[char]!);
}

function interpolate(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(interpolate).join('');
  return escapeHtml(value);
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += interpolate(value) + (strings[index + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** Marks text written in this codebase (CSS, the page script) as HTML that must not be escaped. */
export function trusted(text: string): SafeHtml {
  return new SafeHtml(text);
}
