// The semantic cache's false-hit guard: two queries close in embedding space can still ask
// different things. "When did Emily Doe last order?" embeds next to "When did John Doe last
// order?", and "Can I return a used cartridge?" next to "... an unused cartridge?", because one
// changed word barely moves a sentence embedding. So before the cache serves an answer cached
// for another query, this compares the two for what embeddings are blind to: named entities,
// numbers, dates and negations. Pure, no I/O; rules over the text, no model.
//
// The rule throughout: a difference only counts when the two queries disagree. A word one query
// has and the other lacks ("city" in "the capital city of Vietnam") is a paraphrase's ordinary
// variation and never blocks; an entity only blocks when each side names something the other
// does not (a swap), while a number, a date or a negation the other query lacks does block — it
// narrows or flips what is asked ("orders today" is not "orders").
//
// Cost: compromise parses both queries for names (≈ 2–4 ms a pair on one core; its import,
// ≈ 0.7 s, is paid once by whoever first loads this module), well under the model call a hit saves.
// Known blind spots: aliases ("USSR" / "Soviet Union") and synonyms ("AIDS" / "HIV") read as a
// swap, so they only cost a hit; a lowercase-first brand ("macOS") or a lone initial
// ("George W." / "George H. W.") is no entity, so those can slip through.
import nlp from 'compromise';
import { entities } from '../text.js';

export type QueryDifferenceKind = 'entity' | 'number' | 'date' | 'negation' | 'polarity';

export interface QueryDifference {
  kind: QueryDifferenceKind;
  /** What the new query has that the cached one does not. */
  a?: string;
  /** What the cached query has that the new one does not. */
  b?: string;
}

export interface QueryComparison {
  /** True when nothing below was found: the cached answer may be served. */
  same: boolean;
  differences: QueryDifference[];
}

/** Compares a new query with a cached one; `same` is false when they differ in any way we detect. */
export function compareQueries(newQuery: string, cachedQuery: string): QueryComparison {
  const a = analysed(newQuery);
  const b = analysed(cachedQuery);
  const differences: QueryDifference[] = [];

  // Entities: each side's entity words that the other query's text lacks. Only a swap counts.
  const onlyA = [...a.entityWords].filter((w) => !hasWord(b, w));
  const onlyB = [...b.entityWords].filter((w) => !hasWord(a, w));
  if (onlyA.length > 0 && onlyB.length > 0) differences.push({ kind: 'entity', a: onlyA.join(' '), b: onlyB.join(' ') });

  // Numbers and dates: any disagreement, one-sided included.
  for (const kind of ['number', 'date'] as const) {
    const inA = kind === 'number' ? a.numbers : a.dates;
    const inB = kind === 'number' ? b.numbers : b.dates;
    const da = [...inA].filter((x) => !inB.has(x));
    const db = [...inB].filter((x) => !inA.has(x));
    if (da.length > 0 || db.length > 0) differences.push({ kind, ...side(da, db) });
  }

  // Negation: an odd number of negators on one side only ("have been" / "have not been").
  if (a.negations.length % 2 !== b.negations.length % 2) {
    differences.push({ kind: 'negation', ...side(a.negations, b.negations) });
  }

  // Polarity: a word in one query and its un-/non-/in-/dis- form in the other (used / unused).
  // One difference per base word: "non-refundable" is also read as "nonrefundable".
  const bases = new Set<string>();
  for (const [x, y, flip] of [[a, b, false], [b, a, true]] as const) {
    for (const word of x.words) {
      const base = antonymBase(word, y);
      if (!base || bases.has(base)) continue;
      bases.add(base);
      differences.push({ kind: 'polarity', ...(flip ? { a: base, b: word } : { a: word, b: base }) });
    }
  }

  return { same: differences.length === 0, differences };
}

const side = (a: string[], b: string[]) => ({ ...(a.length ? { a: a.join(' ') } : {}), ...(b.length ? { b: b.join(' ') } : {}) });

interface Analysis {
  /** Every word, lowercased, possessives dropped; hyphenated words also joined ("wi-fi" → "wifi"). */
  words: Set<string>;
  /** The words of its named things (capitalised runs, compromise's topics, codes), lowercased. */
  entityWords: Set<string>;
  /** Values with their unit: "50", "$50", "15%". Number words become digits ("two" → "2"). */
  numbers: Set<string>;
  /** "2026-10-08", "may 3", "friday", "1984", "1970s", "last week", "q3", "today". */
  dates: Set<string>;
  negations: string[];
}

const MONTHS = 'january february march april may june july august september october november december'.split(' ');
const WEEKDAYS = 'monday tuesday wednesday thursday friday saturday sunday'.split(' ');
const RELATIVE_DAYS = new Set(['today', 'tonight', 'yesterday', 'tomorrow']);
const PERIODS = '(?:week|weekend|month|year|quarter|night|morning|afternoon|evening)';
const UNITS: Record<string, number> = { hundred: 1e2, thousand: 1e3, million: 1e6, billion: 1e9, trillion: 1e12 };
const NUMBER_WORDS: Record<string, number> = Object.fromEntries(
  [
    ...'zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen'
      .split(' ')
      .map((w, i) => [w, i] as const),
    ...'twenty thirty forty fifty sixty seventy eighty ninety'.split(' ').map((w, i) => [w, 20 + 10 * i] as const),
    ...'first second third fourth fifth sixth seventh eighth ninth tenth'.split(' ').map((w, i) => [w, i + 1] as const),
    ['once', 1],
    ['twice', 2],
    ['dozen', 12],
    ['single', 1],
    ['double', 2],
    ['triple', 3],
  ],
);
/** Negators; "n't" is matched on its own. "no" in a name ("No Child Left Behind") is on both sides. */
const NEGATORS = /\b(?:not|never|no|none|nobody|nothing|neither|nor|without|cannot)\b|n't\b/g;
/** Question and function words that entities() can return when they start a sentence ("What's"). */
const FUNCTION_WORDS = new Set(
  ('what when where who whom whose why how which is are was were can could did do does should will would ' +
    'shall may might must has have had i my me we our you your he his she her it its they their the a an ' +
    'and or but if of in on at to for from with by about this that these those there here please tell show list ' +
    "don doesn didn isn aren wasn weren won shouldn couldn wouldn haven hasn t").split(' '),
);
const RELATIVE: Record<string, string> = { previous: 'last', past: 'last', coming: 'next' };
/** Set phrases whose number word counts nothing ("third-party ink"). */
const IDIOMS = /\b(?:third[- ]part(?:y|ies)|first[- ]class|second[- ]hand|one[- ]time|one[- ]off|one another)\b/g;

const nameWords = (name: string) => (name.toLowerCase().match(/[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)*/gu) ?? []).map((w) => w.replace(/-/g, ''));

/**
 * Parsing a query is most of a comparison's time, and the cache compares the same cached
 * questions (the nearest ones) again and again: analyses are kept per process, bounded.
 */
const ANALYSES = new Map<string, Analysis>();
const MAX_ANALYSES = 4_096;

function analysed(text: string): Analysis {
  const known = ANALYSES.get(text);
  if (known) return known;
  const analysis = analyse(text);
  if (ANALYSES.size >= MAX_ANALYSES) ANALYSES.delete(ANALYSES.keys().next().value!);
  ANALYSES.set(text, analysis);
  return analysis;
}

function analyse(text: string): Analysis {
  // Apostrophes one way, possessives off ("Doe's" → "Doe"), so "John Doe's order" names John Doe.
  const raw = text.replace(/[’‘]/g, "'").replace(/(\p{L})'s\b/gu, '$1');
  const lower = raw.toLowerCase();
  const words = new Set<string>();
  for (const token of lower.match(/[\p{L}\p{N}]+(?:[-.][\p{L}\p{N}]+)*/gu) ?? []) {
    // Every run of a hyphenated token's parts, joined: "iwsa-2024-003" has "iwsa2024" too.
    const parts = token.split(/[-.]/);
    words.add(token);
    for (let i = 0; i < parts.length; i++) for (let j = i + 1; j <= parts.length; j++) words.add(parts.slice(i, j).join(''));
  }

  // Product and part codes ("LX-200", "TN-220XL", "IWSA-2024-003") are entities, not numbers
  // or years; ordinals, decades, quarters and "4-year" or "600dpi" are not codes.
  // Every replacement below keeps the text's length, so an offset in it is one in `raw` too.
  const blank = (s: string) => ' '.repeat(s.length);
  let rest = lower.replace(IDIOMS, blank);
  const codes = (rest.match(/\b(?=[\p{L}\d-]*\p{L})(?=[\p{L}\d-]*\d)[\p{L}\d]+(?:-[\p{L}\d]+)*\b/gu) ?? []).filter(
    (c) => !/^\d+(?:st|nd|rd|th|s)$|^q[1-4]$|^\d+-\p{L}+$|^\d+\p{L}{1,3}$/u.test(c),
  );
  for (const c of codes) rest = rest.replace(c, blank(c));

  // Dates next, so a year or a month's day is not also read as a number.
  const dates = new Set<string>();
  const take = (re: RegExp, key: (m: string[]) => string) => {
    rest = rest.replace(re, (...args: unknown[]) => {
      dates.add(key(args.slice(0, -2) as string[]));
      return blank(args[0] as string);
    });
  };
  take(/\b(\d{4})-(\d{2})-(\d{2})\b/g, (m) => `${m[1]}-${m[2]}-${m[3]}`);
  // "May" is a month only capitalised mid-sentence or beside a day number; "may" is a verb.
  const monthRe = new RegExp(`\\b(?:(\\d{1,2})(?:st|nd|rd|th)?\\s+(?:of\\s+)?)?(${MONTHS.join('|')}|sept)\\b(?:\\s+(\\d{1,2})(?:st|nd|rd|th)?\\b)?`, 'g');
  rest = rest.replace(monthRe, (whole: string, d1: string | undefined, name: string, d2: string | undefined, offset: number) => {
    if (name === 'may' && !d1 && !d2 && !(offset > 0 && raw.slice(offset, offset + 3) === 'May')) return whole;
    const month = name === 'sept' ? 'september' : name;
    const day = d1 ?? d2;
    dates.add(day ? `${month} ${Number(day)}` : month);
    return blank(whole);
  });
  take(new RegExp(`\\b(${WEEKDAYS.join('|')})s?\\b`, 'g'), (m) => m[1]!);
  take(new RegExp(`\\b(this|last|next|previous|past|coming)\\s+(${PERIODS})\\b`, 'g'), (m) => `${RELATIVE[m[1]!] ?? m[1]} ${m[2]}`);
  take(/\b(today|tonight|yesterday|tomorrow|q[1-4])\b/g, (m) => m[1]!);
  take(/\b((?:1[7-9]|20)\d0)'?s\b/g, (m) => `${m[1]}s`);
  take(/(?<![$\d.,])\b((?:1[7-9]|20)\d{2})\b(?![,.]?\d|%)/g, (m) => m[1]!);

  const numbers = readNumbers(rest);

  // Named things: capitalised runs and codes (entities()), and compromise's people, places and
  // organisations, which also finds them lowercased ("emily doe", "vietnam").
  const entityWords = new Set<string>();
  // A capitalised first word is only a sentence's start ("Show orders …") unless compromise
  // names it too.
  const topics = nlp(raw).topics().out('array') as string[];
  const first = raw.match(/^[^\p{L}]*(\p{L}+)/u)?.[1]?.toLowerCase();
  const topicWords = new Set(topics.flatMap((t) => nameWords(t)));
  const capitalised = entities(raw).flatMap(nameWords).filter((w) => w !== first || topicWords.has(w));
  for (const word of [...capitalised, ...topicWords, ...codes.map((c) => c.replace(/-/g, ''))]) {
    if (FUNCTION_WORDS.has(word) || /^\d+$/.test(word) || NUMBER_WORDS[word] !== undefined) continue;
    if (MONTHS.includes(word) || WEEKDAYS.includes(word) || RELATIVE_DAYS.has(word)) continue;
    entityWords.add(word);
  }

  return { words, entityWords, numbers, dates, negations: lower.match(NEGATORS) ?? [] };
}

/** Whether a query has a word, allowing a word's inflections ("Cuba" / "Cuban", "American" / "Americans"). */
function hasWord(q: Analysis, word: string): boolean {
  if (q.words.has(word)) return true;
  if (!/^\p{L}{4,}$/u.test(word)) return false;
  for (const w of q.words) {
    if (/^\p{L}{4,}$/u.test(w) && (w.startsWith(word) || word.startsWith(w)) && Math.abs(w.length - word.length) <= 2) return true;
  }
  return false;
}

/** Numbers with their unit, digits or words: "$1.9 trillion" → "$1900000000000", "15 percent" → "15%". */
function readNumbers(text: string): Set<string> {
  const out = new Set<string>();
  const tokens = text.match(/\$?\d+(?:,\d{3})*(?:\.\d+)?%?|\p{L}+/gu) ?? [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    let value: number | undefined;
    let currency = token.startsWith('$');
    let percent = token.endsWith('%');
    if (/\d/.test(token)) {
      value = Number(token.replace(/[$,%]/g, ''));
    } else if (NUMBER_WORDS[token] !== undefined) {
      // "one" after "which"/"the"/"this" is a pronoun, not a count ("which one is cheaper").
      if (token === 'one' && /^(?:which|the|this|that|each|any|every|no)$/.test(tokens[i - 1] ?? '')) continue;
      value = NUMBER_WORDS[token]!;
      // "twenty five" → 25
      const next = NUMBER_WORDS[tokens[i + 1] ?? ''];
      if (value >= 20 && value % 10 === 0 && next !== undefined && next < 10) {
        value += next;
        i++;
      }
    } else if (token === 'a' && UNITS[tokens[i + 1] ?? '']) {
      value = 1; // "a million"
    } else continue;
    while (UNITS[tokens[i + 1] ?? '']) value *= UNITS[tokens[++i]!]!;
    const unit = tokens[i + 1];
    if (unit === 'percent' || unit === 'per' && tokens[i + 2] === 'cent') percent = true;
    if (unit === 'dollars' || unit === 'dollar' || unit === 'usd') currency = true;
    out.add(`${currency ? '$' : ''}${Number(value.toPrecision(12))}${percent ? '%' : ''}`);
  }
  return out;
}

const ANTONYM_PREFIXES = ['non', 'un', 'in', 'im', 'il', 'ir', 'dis'];

/** A word's positive form when the word is that form with an antonym prefix the other query lacks. */
function antonymBase(word: string, other: Analysis): string | undefined {
  for (const prefix of ANTONYM_PREFIXES) {
    const base = word.startsWith(`${prefix}-`) ? word.slice(prefix.length + 1) : word.startsWith(prefix) ? word.slice(prefix.length) : '';
    // A base of 4+ letters keeps "unit" (un + it) and "index" out.
    if (/^\p{L}{4,}$/u.test(base) && other.words.has(base) && !other.words.has(word) && !other.words.has(`${prefix}${base}`)) return base;
  }
  return undefined;
}
