// Input checks that need no model: is the question on a topic the tenant blocks, and does the
// text look like something other than a person's message (a paste of symbols, a repeated token
// flood, homoglyph-mixed words)? Pure and synchronous; phrase lists compile once and are cached.

export interface BlockedTopic {
  topic: string;
  phrases: string[];
}

export interface ScopeResult {
  inScope: boolean;
  /** The blocked topic that matched. */
  topic?: string;
  /** The phrase, as configured, that matched. */
  matched?: string;
}

/** NFKC, lowercased, diacritics kept, whitespace collapsed: the form phrases are matched in. */
export function normalizeForMatching(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/[\u200B-\u200D\u2060\uFEFF\u00AD]/g, '').replace(/\s+/g, ' ').trim();
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One word of a phrase, tolerant of its plural: "refund" ~ "refunds", "policy" ~ "policies", "box" ~ "boxes". */
function pluralTolerant(word: string): string {
  const w = escapeRegExp(word);
  if (/[^aeiou]y$/.test(word)) return `${escapeRegExp(word.slice(0, -1))}(?:y|ies)`;
  if (/(?:s|x|z|ch|sh)$/.test(word)) return `${w}(?:es)?`;
  return `${w}(?:s|es)?`;
}

function phraseSource(phrase: string): string {
  const words = normalizeForMatching(phrase).split(/[\s-]+/).filter(Boolean);
  return words.map((w) => (/\p{L}$/u.test(w) ? pluralTolerant(w) : escapeRegExp(w))).join('[\\s-]+');
}

export interface PhraseMatcher {
  /** The configured phrase that matched first in the text, if any. */
  match(normalizedText: string): string | undefined;
}

const MATCHER_CACHE = new Map<string, PhraseMatcher>();
const MATCHER_CACHE_LIMIT = 256;

/**
 * One regex for a phrase list, word-boundary aware (letters and digits, any script) and
 * plural-tolerant. Compiled once per distinct list: tenants' lists are few and stable.
 */
export function compilePhrases(phrases: readonly string[]): PhraseMatcher {
  const key = phrases.join('\u0000');
  const cached = MATCHER_CACHE.get(key);
  if (cached) return cached;
  const usable = phrases.map((p, index) => ({ p, index, source: phraseSource(p) })).filter((x) => x.source.length > 0);
  // Longest first, so "refund policy" wins over "refund" when both are listed.
  usable.sort((a, b) => b.source.length - a.source.length);
  const pattern = usable.length
    ? new RegExp(`(?<![\\p{L}\\p{N}])(?:${usable.map((x, i) => `(?<p${i}>${x.source})`).join('|')})(?![\\p{L}\\p{N}])`, 'u')
    : null;
  const matcher: PhraseMatcher = {
    match(normalizedText) {
      const m = pattern?.exec(normalizedText);
      if (!m?.groups) return undefined;
      const i = usable.findIndex((_, j) => m.groups![`p${j}`] !== undefined);
      return usable[i]?.p;
    },
  };
  if (MATCHER_CACHE.size >= MATCHER_CACHE_LIMIT) MATCHER_CACHE.delete(MATCHER_CACHE.keys().next().value!);
  MATCHER_CACHE.set(key, matcher);
  return matcher;
}

/** The first configured phrase found in `text` (normalised, word-boundary aware, plural-tolerant). */
export function matchesAnyPhrase(text: string, phrases: readonly string[]): string | undefined {
  return compilePhrases(phrases).match(normalizeForMatching(text));
}

/** Out of scope when the text mentions a phrase of a blocked topic; topics are tried in order. */
export function checkScope(text: string, config: { blockedTopics: BlockedTopic[] }): ScopeResult {
  const normalized = normalizeForMatching(text);
  for (const { topic, phrases } of config.blockedTopics) {
    const matched = compilePhrases(phrases).match(normalized);
    if (matched !== undefined) return { inScope: false, topic, matched };
  }
  return { inScope: true };
}

// ── Anomalous input ────────────────────────────────────────────────────────────────────────────

export interface AnomalyLimits {
  /** Longer inputs are anomalous (default 4,000 characters). */
  maxChars?: number;
  /** Share of non-space characters that are neither letters nor marks (default 0.5). */
  maxNonLetterRatio?: number;
  /** Share of tokens that repeat an earlier token, for inputs of 20+ tokens (default 0.7). */
  maxRepeatRatio?: number;
  /** Longest acceptable run of one character (default 20). */
  maxCharRun?: number;
  /** Longest acceptable word, URLs and e-mail addresses excepted (default 45). */
  maxWordLength?: number;
}

export interface AnomalyStats {
  chars: number;
  letters: number;
  digits: number;
  symbols: number;
  nonLetterRatio: number;
  tokens: number;
  repeatRatio: number;
  longestCharRun: number;
  longestWord: number;
  /** Words mixing Latin with Cyrillic or Greek letters: the homoglyph trick. */
  mixedScriptWords: number;
  /** Scripts with at least 1 letter, e.g. ['Latin', 'Cyrillic']. */
  scripts: string[];
}

export interface AnomalyResult {
  anomalous: boolean;
  /** e.g. 'too_long', 'mostly_symbols', 'repeated_tokens', 'repeated_characters', 'very_long_word', 'mixed_script_words'. */
  reasons: string[];
  stats: AnomalyStats;
}

const SCRIPT_TESTS: Array<[string, RegExp]> = [
  ['Latin', /\p{Script=Latin}/u],
  ['Cyrillic', /\p{Script=Cyrillic}/u],
  ['Greek', /\p{Script=Greek}/u],
  ['Arabic', /\p{Script=Arabic}/u],
  ['Hebrew', /\p{Script=Hebrew}/u],
  ['Han', /\p{Script=Han}/u],
  ['Hiragana', /\p{Script=Hiragana}/u],
  ['Katakana', /\p{Script=Katakana}/u],
  ['Hangul', /\p{Script=Hangul}/u],
  ['Devanagari', /\p{Script=Devanagari}/u],
  ['Thai', /\p{Script=Thai}/u],
];
const LETTER_OR_MARK = /[\p{L}\p{M}]/u;
const DIGIT = /\p{N}/u;
const SPACE = /\s/u;
const TOKEN = /[\p{L}\p{M}\p{N}]+/gu;
const WORD_LIKE = /\S+/g;
const URL_OR_EMAIL = /^(?:https?:\/\/|www\.)|@[^@]+\.[a-z]{2,}$/i;
const LATIN = /\p{Script=Latin}/u;
const LOOKALIKE_SCRIPT = /[\p{Script=Cyrillic}\p{Script=Greek}]/u;

/** Flags inputs whose shape is unlike a person's message; `stats` says why in numbers. */
export function detectAnomaly(text: string, limits: AnomalyLimits = {}): AnomalyResult {
  const maxChars = limits.maxChars ?? 4000;
  const maxNonLetterRatio = limits.maxNonLetterRatio ?? 0.5;
  const maxRepeatRatio = limits.maxRepeatRatio ?? 0.7;
  const maxCharRun = limits.maxCharRun ?? 20;
  const maxWordLength = limits.maxWordLength ?? 45;

  let letters = 0;
  let digits = 0;
  let symbols = 0;
  let longestCharRun = 0;
  let run = 0;
  let previous = '';
  const seenScripts = new Set<string>();
  for (const ch of text) {
    run = ch === previous ? run + 1 : 1;
    previous = ch;
    if (run > longestCharRun && !SPACE.test(ch)) longestCharRun = run;
    if (LETTER_OR_MARK.test(ch)) {
      letters += 1;
      if (seenScripts.size < SCRIPT_TESTS.length && ch.charCodeAt(0) > 0x7f) {
        for (const [name, test] of SCRIPT_TESTS) if (test.test(ch)) seenScripts.add(name);
      } else if (ch.charCodeAt(0) <= 0x7f) seenScripts.add('Latin');
    } else if (DIGIT.test(ch)) digits += 1;
    else if (!SPACE.test(ch)) symbols += 1;
  }
  const nonSpace = letters + digits + symbols;
  const nonLetterRatio = nonSpace === 0 ? 0 : (digits + symbols) / nonSpace;

  const tokens = (text.toLowerCase().match(TOKEN) ?? []);
  const repeatRatio = tokens.length < 20 ? 0 : 1 - new Set(tokens).size / tokens.length;

  let longestWord = 0;
  let mixedScriptWords = 0;
  for (const word of text.match(WORD_LIKE) ?? []) {
    if (!URL_OR_EMAIL.test(word) && word.length > longestWord) longestWord = [...word].length;
    if (word.length > 1 && LATIN.test(word) && LOOKALIKE_SCRIPT.test(word)) mixedScriptWords += 1;
  }

  const reasons: string[] = [];
  if (text.length > maxChars) reasons.push('too_long');
  if (nonSpace >= 8 && nonLetterRatio > maxNonLetterRatio) reasons.push('mostly_symbols');
  if (repeatRatio > maxRepeatRatio) reasons.push('repeated_tokens');
  if (longestCharRun > maxCharRun) reasons.push('repeated_characters');
  if (longestWord > maxWordLength) reasons.push('very_long_word');
  if (mixedScriptWords > 0) reasons.push('mixed_script_words');

  return {
    anomalous: reasons.length > 0,
    reasons,
    stats: {
      chars: text.length,
      letters,
      digits,
      symbols,
      nonLetterRatio: Math.round(nonLetterRatio * 1000) / 1000,
      tokens: tokens.length,
      repeatRatio: Math.round(repeatRatio * 1000) / 1000,
      longestCharRun,
      longestWord,
      mixedScriptWords,
      scripts: [...seenScripts],
    },
  };
}
