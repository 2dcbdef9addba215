// Checks on a generated answer (and on the user's tone) that need no model: sentence splitting,
// toxicity by lexicon, brand and competitor mentions, grounding of each sentence in the retrieved
// passages, and frustration signals for a human handoff. Pure and synchronous; every lexicon and
// regex compiles once at module load (or once per distinct tenant list, cached).
import { RegExpMatcher, englishDataset, englishRecommendedTransformers } from 'obscenity';
import { compilePhrases, matchesAnyPhrase, normalizeForMatching } from './scope.js';
import type { GroundingSentence } from './types.js';

export { matchesAnyPhrase };

// ── Sentences ──────────────────────────────────────────────────────────────────────────────────

export interface SentenceSpan {
  text: string;
  /** UTF-16 offsets into the original text, end exclusive, whitespace trimmed. */
  start: number;
  end: number;
}

const SENTENCE_SEGMENTER = new Intl.Segmenter('en', { granularity: 'sentence' });
/** Citation markers the answer step writes: [1], [2, 3], [1-3], [1][2]. */
const LEADING_CITATIONS = /^\s*(?:\[\d+(?:\s*[,–-]\s*\d+)*\]\s*)+/;
/** A boundary that fell inside a marker: "works.[" | "1] Then". */
const OPEN_MARKER_AT_END = /\[\d*(?:\s*[,–-]\s*\d*)*$/;
const REST_OF_MARKER = /^\d*(?:\s*[,–-]\s*\d*)*\]\s*(?:\[\d+(?:\s*[,–-]\s*\d+)*\]\s*)*/;
/** Abbreviations after which ICU may break although the sentence goes on. */
const ABBREVIATION_AT_END = /(?:^|[\s(])(?:e\.g|i\.e|etc|vs|approx|incl|no|nos|fig|cf|mr|mrs|ms|dr|st|jr|sr|inc|ltd|co|p|pp)\.\s*$/i;

/**
 * Splits `text` into sentences with Intl.Segmenter, keeping citation markers with the sentence
 * they follow and not breaking after common abbreviations or inside decimals.
 */
export function splitSentences(text: string): SentenceSpan[] {
  const boundaries: number[] = [];
  for (const segment of SENTENCE_SEGMENTER.segment(text)) if (segment.index > 0) boundaries.push(segment.index);
  const cuts: number[] = [0];
  for (let b of boundaries) {
    const before = text.slice(cuts[cuts.length - 1], b);
    const after = text.slice(b);
    if (OPEN_MARKER_AT_END.test(before)) b += REST_OF_MARKER.exec(after)?.[0].length ?? 0;
    else b += LEADING_CITATIONS.exec(after)?.[0].length ?? 0;
    const previousCut = cuts[cuts.length - 1]!;
    if (b <= previousCut || b >= text.length) continue;
    if (ABBREVIATION_AT_END.test(text.slice(previousCut, b))) continue;
    cuts.push(b);
  }
  cuts.push(text.length);
  const spans: SentenceSpan[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    let start = cuts[i]!;
    let end = cuts[i + 1]!;
    while (start < end && /\s/.test(text[start]!)) start++;
    while (end > start && /\s/.test(text[end - 1]!)) end--;
    if (end > start) spans.push({ text: text.slice(start, end), start, end });
  }
  return spans;
}

// ── Toxicity ───────────────────────────────────────────────────────────────────────────────────

export interface ToxicityResult {
  toxic: boolean;
  /** 0..1: each profanity adds 0.5, each hostile phrase 0.6, capped at 1. */
  score: number;
  /** The terms found, as listed (profanity by its base word). */
  terms: string[];
}

/** obscenity's English profanity set with its leetspeak/confusable transformers, built once. */
const PROFANITY = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });

/**
 * Hostility without profanity. Threats are phrased against a person ("hurt you", "kill you"), so
 * support vocabulary — "this kills the process", "the printer is dead", "execute the job" — stays out.
 */
const HOSTILE_PHRASES: Array<[string, RegExp]> = [
  ['you idiot', /\byou (?:absolute |complete |stupid |total )?(?:idiot|moron|imbecile|fool|clown|loser)s?\b/],
  ['insult', /\b(?:you(?:'re| are)|ur|u r) (?:an? )?(?:absolute |complete |total |so )?(?:idiot|moron|stupid|dumb|useless|pathetic|worthless|incompetent|imbecile|clown|joke|loser)\b/],
  ['shut up', /\bshut (?:up|your mouth)\b/],
  ['stupid customer', /\b(?:stupid|dumb|idiot|annoying|pathetic|ignorant) (?:customers?|users?|people|question)\b/],
  ['threat', /\bi(?:'ll| will| am going to|'m going to| gonna) (?:hurt|kill|find|destroy|beat|punch|hunt) you\b|\bi know where you live\b|\b(?:hope|wish) you die\b/],
  ['go to hell', /\bgo to hell\b|\bscrew you\b|\bget lost\b|\bnobody cares\b/],
  ['dismissive', /\b(?:figure it out yourself|not my problem|deal with it yourself|learn to read)\b/],
];

export function scoreToxicity(text: string, extraTerms: string[] = []): ToxicityResult {
  const terms: string[] = [];
  let score = 0;
  for (const match of PROFANITY.getAllMatches(text, true)) {
    const word = englishDataset.getPayloadWithPhraseMetadata(match).phraseMetadata?.originalWord ?? text.slice(match.startIndex, match.endIndex + 1);
    terms.push(word);
    score += 0.5;
  }
  const normalized = normalizeForMatching(text);
  for (const [name, pattern] of HOSTILE_PHRASES) {
    if (pattern.test(normalized)) {
      terms.push(name);
      score += 0.6;
    }
  }
  if (extraTerms.length > 0) {
    const found = compilePhrases(extraTerms).match(normalized);
    if (found !== undefined) {
      terms.push(found);
      score += 0.5;
    }
  }
  score = Math.min(1, score);
  return { toxic: score >= 0.5, score, terms: [...new Set(terms)] };
}

// ── Brand, competitor and risky terms ──────────────────────────────────────────────────────────

export type TermKind = 'brand' | 'competitor' | 'risky';

export interface TermMention {
  term: string;
  kind: TermKind;
  start: number;
  end: number;
}

const TERM_CACHE = new Map<string, RegExp>();
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function termPattern(terms: Array<{ term: string; kind: TermKind }>): RegExp {
  const key = terms.map((t) => `${t.kind}:${t.term}`).join('\u0000');
  let pattern = TERM_CACHE.get(key);
  if (!pattern) {
    // Longest first so "Inkwell Pro" wins over "Inkwell"; spaces match any whitespace or hyphen.
    const alternatives = terms
      .map((t, i) => ({ i, source: escapeRegExp(t.term.trim()).replace(/\s+/g, '[\\s-]+') }))
      .filter((t) => t.source.length > 0)
      .sort((a, b) => b.source.length - a.source.length)
      .map((t) => `(?<t${t.i}>${t.source})`);
    pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives.join('|') || '(?!)'})(?![\\p{L}\\p{N}])`, 'giu');
    if (TERM_CACHE.size >= 256) TERM_CACHE.delete(TERM_CACHE.keys().next().value!);
    TERM_CACHE.set(key, pattern);
  }
  return pattern;
}

/** Every mention of a brand, competitor or risky term (case-insensitive, whole words), in text order. */
export function checkBrandTerms(text: string, lists: { brand: string[]; competitors: string[]; risky?: string[] }): TermMention[] {
  const terms = [
    ...lists.brand.map((term) => ({ term, kind: 'brand' as const })),
    ...lists.competitors.map((term) => ({ term, kind: 'competitor' as const })),
    ...(lists.risky ?? []).map((term) => ({ term, kind: 'risky' as const })),
  ];
  if (terms.length === 0) return [];
  const pattern = termPattern(terms);
  const mentions: TermMention[] = [];
  for (const m of text.matchAll(pattern)) {
    const name = Object.keys(m.groups ?? {}).find((g) => m.groups![g] !== undefined);
    const listed = name ? terms[Number(name.slice(1))] : undefined;
    if (listed) mentions.push({ term: listed.term, kind: listed.kind, start: m.index, end: m.index + m[0].length });
  }
  return mentions;
}

// ── Grounding ──────────────────────────────────────────────────────────────────────────────────

export interface GroundingResult {
  sentences: GroundingSentence[];
  unsupported: number;
  /** Supported sentences ÷ all sentences (1 for an empty answer). Neutral sentences count as supported. */
  supportedRatio: number;
}

// Function words and answer boilerplate carry no claim: they neither support nor undermine one.
const STOPWORDS = new Set(
  ('a an the and or but if then else of to in on at by for with from into onto over under about as is are was were be been being ' +
    'am do does did doing have has had having it its this that these those there here which who whom whose what when where why how ' +
    'not no nor so than too very can could should would will shall may might must also just only own same such both each few more most ' +
    'other some any all i me my we our you your he him his she her they them their one ones up down out off again further once s t ' +
    'per via within without between during before after above below through while until because yes please note however therefore ' +
    'thus according document documents source sources passage context based').split(/\s+/),
);
const WORD = /[\p{L}\p{N}]+(?:['’.\-/][\p{L}\p{N}]+)*/gu;
const NUMBER = /\d+(?:[.,]\d+)*/g;
const CITATION_MARKERS = /\[\d+(?:\s*[,–-]\s*\d+)*\]/g;
/** Sentences that only cite, hedge or decline: they make no claim to check. */
const NEUTRAL_SENTENCE =
  /^(?:sources?|references?|citations?)\s*:|^(?:i (?:could not|couldn't|can't|cannot|did not|didn't|was unable to) (?:find|locate|see|determine|answer)|i (?:do not|don't) (?:know|have)|i'm not sure|i am not sure|the (?:provided )?(?:documents?|sources?|passages?|context) (?:do(?:es)? not|don't|doesn't) (?:say|mention|cover|contain|specify|include)|there is no information|no information (?:is|was) (?:available|found)|please contact|let me know|is there anything else|i hope this helps)/i;

/** Light stemming: enough to equate "refunds"/"refunded"/"refunding" and "policies"/"policy". */
function stem(word: string): string {
  let w = word.replace(/['’]s$/, '');
  if (w.length > 4 && w.endsWith('ies')) w = `${w.slice(0, -3)}y`;
  else if (w.length > 4 && w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith('s') && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);
  if (w.length > 5 && w.endsWith('ing')) w = w.slice(0, -3);
  else if (w.length > 4 && w.endsWith('ed')) w = w.slice(0, -2);
  else if (w.length > 5 && w.endsWith('ly')) w = w.slice(0, -2);
  return w;
}

function normalizeNumber(n: string): string {
  return n.replace(/,(?=\d{3}\b)/g, '').replace(/\.0+$/, '');
}

interface PassageIndex {
  stems: Set<string>;
  numbers: Set<string>;
}

function indexPassage(passage: string): PassageIndex {
  const text = passage.normalize('NFKC').toLowerCase();
  const stems = new Set<string>();
  for (const w of text.match(WORD) ?? []) {
    stems.add(stem(w));
    // Compound tokens ("e-21", "g/m2", "x200") also count by their parts.
    if (/['’.\-/]/.test(w)) for (const part of w.split(/['’.\-/]/)) if (part) stems.add(stem(part));
  }
  const numbers = new Set((text.match(NUMBER) ?? []).map(normalizeNumber));
  return { stems, numbers };
}

interface SentenceClaims {
  content: string[];
  numbers: string[];
  /** Capitalised words past the first, as stems: product names, places, companies. */
  entities: string[];
}

function claimsOf(sentence: string): SentenceClaims {
  const text = sentence.normalize('NFKC').replace(CITATION_MARKERS, ' ');
  const words = text.match(WORD) ?? [];
  const content: string[] = [];
  const entities: string[] = [];
  words.forEach((raw, i) => {
    const lower = raw.toLowerCase();
    if (STOPWORDS.has(lower) || /^\d+(?:[.,]\d+)*$/.test(lower)) return;
    content.push(stem(lower));
    const capitalised = /^\p{Lu}/u.test(raw) || /\p{L}\d|\d\p{L}/u.test(raw);
    if (i > 0 && capitalised && raw !== 'I') entities.push(stem(lower));
  });
  const numbers = (text.match(NUMBER) ?? []).map(normalizeNumber);
  return { content: [...new Set(content)], numbers: [...new Set(numbers)], entities: [...new Set(entities)] };
}

/**
 * Grounds each answer sentence in the passages: its score is the share of its content words
 * (lowercased, stopwords removed, lightly stemmed) found in the best passage, and every number
 * and capitalised entity it states must appear in that same passage. Citation-only and hedging
 * sentences are neutral: supported, score 1, passage −1.
 */
export function checkGrounding(answer: string, passages: string[], opts: { minSupport?: number } = {}): GroundingResult {
  return groundingChecker(passages, opts)(answer);
}

/**
 * checkGrounding against fixed passages, indexed once: the guarded stream checks an answer
 * sentence by sentence against the same context.
 */
export function groundingChecker(passages: string[], opts: { minSupport?: number } = {}): (answer: string) => GroundingResult {
  const index = passages.map(indexPassage);
  return (answer) => groundAgainst(index, answer, opts.minSupport ?? 0.5);
}

function groundAgainst(index: PassageIndex[], answer: string, minSupport: number): GroundingResult {
  const sentences: GroundingSentence[] = [];
  for (const { text } of splitSentences(answer)) {
    const bare = text.replace(CITATION_MARKERS, '').trim();
    const claims = claimsOf(bare);
    if (NEUTRAL_SENTENCE.test(bare) || (claims.content.length === 0 && claims.numbers.length === 0)) {
      sentences.push({ text, supported: true, score: 1, passage: -1 });
      continue;
    }
    let best = { score: 0, passage: -1, complete: false };
    index.forEach((p, i) => {
      const found = claims.content.filter((w) => p.stems.has(w)).length;
      const score = claims.content.length ? found / claims.content.length : 1;
      const complete = claims.numbers.every((n) => p.numbers.has(n)) && claims.entities.every((e) => p.stems.has(e));
      // A passage that carries every number and name beats a wordier one that misses some.
      if ((complete && !best.complete) || (complete === best.complete && score > best.score)) best = { score, passage: i, complete };
    });
    const score = Math.round(best.score * 1000) / 1000;
    sentences.push({ text, supported: best.complete && score >= minSupport, score, passage: best.passage });
  }
  const unsupported = sentences.filter((s) => !s.supported).length;
  return { sentences, unsupported, supportedRatio: sentences.length ? (sentences.length - unsupported) / sentences.length : 1 };
}

// ── Frustration ────────────────────────────────────────────────────────────────────────────────

const FRUSTRATION_SIGNALS: Array<[string, RegExp]> = [
  ['exasperation', /\b(?:this is (?:ridiculous|absurd|unacceptable|a joke|insane|a nightmare)|ridiculous|unacceptable|fed up|sick (?:and tired )?of|had enough|waste of (?:my )?time|wasting my time|beyond frustrat\w*|so frustrat\w*|i'm done|i am done)\b/i],
  ['repeated_contact', /\b(?:(?:second|third|fourth|fifth|2nd|3rd|4th|5th|\d+(?:th)?) time|again and again|keep (?:asking|telling|calling)|(?:already|i've) (?:told|asked|explained|called|written)|how many times|still (?:not|doesn't|isn't|hasn't|broken|waiting|no)\b)/i],
  ['useless', /\b(?:useless|worthless|pointless|not helpful|unhelpful|doesn't help|didn't help|no help at all)\b/i],
  ['human_request', /\b(?:speak|talk|chat)(?:ing)? (?:to|with) (?:a |an |the |your |some)?(?:real |actual |live )?(?:human|person|agent|manager|supervisor|representative|someone|somebody|operator)\b|\b(?:get|give) me (?:a |an )?(?:human|real person|manager|supervisor)\b|\bescalate\b/i],
  ['complaint_threat', /\b(?:cancel(?:ling)? my (?:account|subscription|order)|never (?:buy|buying|ordering) (?:from you|again)|report you|leave a (?:bad|negative|1-star|one-star) review|chargeback|lawyer|worst (?:service|support|company|experience|printer|customer service))\b/i],
  ['exclamations', /[!?]{3,}|!{2,}/],
];
/** Words of 3+ letters in capitals, e.g. "THIS IS BROKEN". Short acronyms (USB, PDF) alone are not shouting. */
const CAPS_WORD = /\b\p{Lu}{3,}\b/gu;
const ANY_WORD = /\b\p{L}{3,}\b/gu;

/** Signals that a user is frustrated: phrases, repeated contact, requests for a human, shouting. */
export function detectFrustration(text: string): { frustrated: boolean; signals: string[] } {
  const signals = FRUSTRATION_SIGNALS.filter(([, pattern]) => pattern.test(text)).map(([name]) => name);
  const caps = text.match(CAPS_WORD)?.length ?? 0;
  const words = text.match(ANY_WORD)?.length ?? 0;
  if (caps >= 3 && caps / Math.max(1, words) >= 0.5) signals.push('shouting');
  return { frustrated: signals.length > 0, signals };
}
