// The offline model's answers are extractive: the sentences of the retrieved passages that best
// cover the question's terms, quoted with their [n] citations, or an honest "not found".
import { splitSentences } from '../../retrieval/chunker.js';
import { contentTerms, flattenTables, NOT_FOUND_ANSWER } from '../../text.js';
import type { EmbedTexts } from './types.js';

/** Strip Markdown furniture so a quoted sentence reads as prose. */
function clean(sentence: string): string {
  return sentence
    .replace(/^\s*(?:[-*+]|\d+[.)]|#+)\s+/gm, '')
    .replace(/\*\*|__|`/g, '')
    .replace(/\s*\|\s*/g, ' | ')
    .replace(/\s+/g, ' ')
    .trim();
}

// Questions that ask for a quantity, a date or a duration are answered by sentences that hold one.
const ANSWER_TYPES: Array<[RegExp, RegExp]> = [
  [/\b(how much|cost|price|fee|charge|pay)\b/i, /[$€£]\s?\d|\d\s?%|\bfree\b/i],
  [/\b(when|what date|which day|how soon)\b/i, /\b\d{4}-\d{2}-\d{2}\b|\b(19|20)\d{2}\b|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b/i],
  [/\b(how long|how many days|how many months|duration|within)\b/i, /\b\d+\s*(minutes?|hours?|days?|weeks?|months?|years?)\b/i],
  [/\b(how many|number of)\b/i, /\b\d[\d,.]*\b/],
];

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot;
}

/**
 * Pick the sentences of the passages that best answer the question: term coverage weighted
 * by IDF, semantic similarity when an embedder is available, and a nudge toward sentences
 * that hold the kind of value asked for. Quote them with their [n] citations.
 */
export async function answerExtractively(
  question: string,
  passages: Array<{ text: string; score?: number }>,
  embed?: EmbedTexts,
): Promise<string> {
  // Rank of each passage by retrieval score (0 = best); passages arrive in attention order.
  const byScore = passages.map((p, i) => ({ i, score: p.score ?? -i })).sort((a, b) => b.score - a.score);
  const ranks: number[] = [];
  byScore.forEach((p, rank) => (ranks[p.i] = rank));
  const terms = [...new Set(contentTerms(question))];
  if (passages.length === 0) return NOT_FOUND_ANSWER;

  const sentences = passages
    .flatMap((p, i) => splitSentences(flattenTables(p.text)).map((s) => ({ passage: i + 1, text: clean(s), terms: new Set(contentTerms(s)) })))
    .filter((s) => s.text.length >= 12 && /[\p{L}]{3}/u.test(s.text) && !/^\|?[\s|:-]+\|?$/.test(s.text))
    .slice(0, 400);
  if (sentences.length === 0) return NOT_FOUND_ANSWER;

  // IDF over the candidate sentences: a term every sentence shares says little.
  const df = new Map(terms.map((t) => [t, sentences.filter((s) => s.terms.has(t)).length]));
  const idf = (t: string) => Math.log(1 + sentences.length / (1 + (df.get(t) ?? 0)));
  const maxWeight = terms.reduce((n, t) => n + idf(t), 0) || 1;
  const similarity = embed ? await similarities(question, sentences.map((s) => s.text), embed) : undefined;
  const wanted = ANSWER_TYPES.filter(([asks]) => asks.test(question)).map(([, holds]) => holds);

  // Codes and part numbers ("E-102", "TN-220XL", "3.5.0") are the surest sign of the right sentence.
  const codes = terms.filter((t) => /\d/.test(t) && /[a-z.-]/.test(t));
  const scored = sentences.map((s, order) => {
    const matched = terms.filter((t) => s.terms.has(t));
    // Coverage of the question's weight, dampened for long sentences that win on bulk.
    const lexical = matched.reduce((n, t) => n + idf(t), 0) / maxWeight / Math.sqrt(Math.max(12, s.terms.size) / 12);
    const semantic = similarity?.[order] ?? 0;
    const bonus =
      (wanted.some((re) => re.test(s.text)) ? 0.15 : 0) +
      Math.min(0.3, 0.15 * codes.filter((c) => s.terms.has(c)).length) +
      // Retrieval already ranked the passages: the best ones get a head start.
      0.1 * (1 - (ranks[s.passage - 1] ?? 0) / Math.max(1, passages.length));
    const score = (similarity ? 0.6 * semantic + 0.4 * lexical : lexical) + bonus;
    return { ...s, order, matched, semantic, score };
  });
  scored.sort((a, b) => b.score - a.score || a.order - b.order);

  const best = scored[0]!;
  // Nothing in common with the question, in words or in meaning: say so instead of quoting noise.
  const related = similarity ? best.semantic >= 0.35 || best.matched.length >= 2 : best.matched.length >= Math.min(2, terms.length);
  if (!related) return NOT_FOUND_ANSWER;

  // Multi-part questions need several sentences: after the best, prefer ones that cover
  // question terms not yet covered, as long as they are nearly as good.
  const picked = [best];
  const covered = new Set(best.matched);
  while (picked.length < 4) {
    const next = scored
      .filter((s) => !picked.includes(s) && !picked.some((p) => p.text === s.text))
      .map((s) => ({ s, gain: s.score + 0.1 * s.matched.filter((t) => !covered.has(t)).length }))
      .sort((a, b) => b.gain - a.gain)[0];
    if (!next || next.s.score < best.score * 0.8) break;
    picked.push(next.s);
    next.s.matched.forEach((t) => covered.add(t));
  }
  picked.sort((a, b) => a.order - b.order);
  return picked.map((s) => `${s.text.replace(/[.:;,]?$/, '.')} [${s.passage}]`).join(' ');
}

async function similarities(question: string, texts: string[], embed: EmbedTexts): Promise<number[]> {
  const [q, ...vectors] = await embed([question, ...texts]);
  return vectors.map((v) => cosine(q!, v));
}
