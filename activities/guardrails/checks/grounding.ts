// grounding: each sentence of an answer against the retrieved passages. A sentence is supported
// when the best passage holds enough of its content words and every number and name it states;
// hedges and citation-only sentences make no claim. Placeholders are not claims either.
import { z } from 'zod';
import { splitSentences } from '../sentences.js';
import { timed } from '../timing.js';
import { blankPlaceholders, type GroundingSentence } from '../types.js';
import { outputCheck } from './types.js';

const groundingPolicy = z
  .object({
    minSupport: z.number().min(0).max(1).default(0.5),
    /** Unsupported sentences tolerated before grounding fails (they are flagged either way). */
    maxUnsupported: z.number().int().min(0).max(1_000).default(0),
  })
  .prefault({});

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

export const grounding = outputCheck({
  name: 'grounding',
  policy: groundingPolicy,
  checkAnswer: ({ answer, passages, notFound, grounding: mode }, settings) => {
    if (!answer || !passages.length || notFound) return undefined;
    const [g, ms] = timed(() => checkGrounding(blankPlaceholders(answer), passages, { minSupport: settings.minSupport }));
    // Report sentences as written: the placeholders blanked for grounding are the answer's own.
    const written = splitSentences(answer);
    const unsupported = g.sentences.flatMap((s, i) => (s.supported ? [] : [written.length === g.sentences.length ? written[i]!.text : s.text]));
    const failed = mode !== 'report' && g.unsupported > settings.maxUnsupported;
    const row = {
      check: 'grounding',
      verdict: failed ? ('fail' as const) : g.unsupported ? ('flag' as const) : ('pass' as const),
      latencyMs: ms,
      detail: { sentences: g.sentences.length, unsupported: g.unsupported, supportedRatio: Math.round(g.supportedRatio * 1000) / 1000 },
    };
    if (!failed) return { rows: [row], failed, unsupported };
    const quoted = unsupported.map((s) => `"${s.slice(0, 160)}"`).join('; ');
    return { rows: [row], failed, unsupported, feedback: `These sentences of your previous answer are not supported by the passages; remove them or support them with a citation: ${quoted}` };
  },
  sentenceCheck: (settings, { passages }) => {
    // One sentence alone can only exceed a tolerance of none: past that, only the whole answer can tell.
    if (!passages.length || settings.maxUnsupported > 0) return undefined;
    const ground = groundingChecker(passages, { minSupport: settings.minSupport });
    return (sentence) => ground(blankPlaceholders(sentence)).unsupported > settings.maxUnsupported;
  },
});
