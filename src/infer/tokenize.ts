/**
 * Word tokens for category inference. Matching whole tokens (never substrings) is what keeps `hr` out of
 * "three" and "Chrome", `help` out of "helpful" and `data` out of "database".
 */

/** The words of a text: `words` in order (for phrases), `camelParts` from names like "SalesBot" (keywords only). */
export interface Tokens {
  words: string[];
  camelParts: string[];
}

// Letters and digits of any script form a word; everything else separates words.
const WORD = /[\p{L}\p{N}]+/gu;
// "SalesBot" → Sales|Bot, "HRBot" → HR|Bot, but "KPIs" stays one word (a plural acronym, not two words).
const CAMEL_BOUNDARY = /(?<=\p{Ll})(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll}{2})/u;
const HAS_LOWER_THEN_UPPER = /\p{Ll}\p{Lu}|\p{Lu}\p{Lu}\p{Ll}{2}/u;
// "KPIs", "APIs": the plural of an acronym, which the suffix rules cannot tell from "this" or "axis".
const ACRONYM_PLURAL = /^\p{Lu}{2,}s$/u;
// Accents are dropped so "résumé" and "resume" are the same word.
const COMBINING_MARKS = /\p{M}+/gu;
const NON_ASCII = /[^\x00-\x7f]/;
const VOWEL = /[aeiouy]/;
const DOUBLED_END = /([bdgmnprt])\1$/;
const SIBILANT_PLURAL = /(?:x|ch|sh)es$/;
const KEEP_FINAL_S = /(?:ss|us|is)$/;

/** Words the suffix rules would merge with a different meaning ("accounting" is not "account"). */
const STEM_EXCEPTIONS: ReadonlySet<string> = new Set(['accounting', 'programming', 'during', 'something', 'anything', 'everything']);

/** Lower-cased, accent-free, stemmed word tokens of a text. */
export function tokenize(text: string): Tokens {
  const words: string[] = [];
  const camelParts: string[] = [];
  if (!text) return { words, camelParts };
  const plain = NON_ASCII.test(text) ? text.normalize('NFKD').replace(COMBINING_MARKS, '') : text;
  WORD.lastIndex = 0;
  for (let match = WORD.exec(plain); match !== null; match = WORD.exec(plain)) {
    const raw = match[0];
    words.push(ACRONYM_PLURAL.test(raw) ? raw.slice(0, -1).toLowerCase() : stem(raw.toLowerCase()));
    if (HAS_LOWER_THEN_UPPER.test(raw)) {
      for (const part of raw.split(CAMEL_BOUNDARY)) camelParts.push(stem(part.toLowerCase()));
    }
  }
  return { words, camelParts };
}

/**
 * The forms a taxonomy word may take in stemmed text: "schedule" also as "schedul", because "scheduled" and
 * "scheduling" lose their silent e to the suffix rules (the text side keeps it, so "plane" never meets "plan").
 */
export function termVariants(term: string): string[][] {
  return tokenize(term.toLowerCase()).words.map((word) =>
    word.length >= 4 && word.endsWith('e') && !word.endsWith('ee') ? [word, word.slice(0, -1)] : [word],
  );
}

/**
 * A deliberately small stemmer: plural `-s`/`-es`/`-ies`, then `-ing`/`-ed`. Keywords go through the same
 * function, so "invoices" meets "invoice" and "planning" meets "plan", while "planets", "explanation",
 * "leadership" and "workshops" stay words of their own.
 */
export function stem(word: string): string {
  if (word.length <= 3 || STEM_EXCEPTIONS.has(word)) return word;
  let w = word;
  if (w.endsWith('ies') && w.length > 4) w = w.slice(0, -3) + 'y';
  else if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (SIBILANT_PLURAL.test(w) && w.length > 4) w = w.slice(0, -2);
  else if (w.endsWith('s') && !KEEP_FINAL_S.test(w)) w = w.slice(0, -1);

  if (w.endsWith('ing') && w.length >= 6 && VOWEL.test(w.slice(0, -3))) w = undouble(w.slice(0, -3));
  else if (w.endsWith('ed') && w.length >= 5 && !w.endsWith('eed') && VOWEL.test(w.slice(0, -2))) {
    w = undouble(w.slice(0, -2));
  }
  return w;
}

function undouble(word: string): string {
  return DOUBLED_END.test(word) ? word.slice(0, -1) : word;
}
