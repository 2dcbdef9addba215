// The offline `local` model: what answers when no model endpoint is configured. It is not a
// language model and does not pretend to be one:
// - answers are extractive: the sentences of the retrieved passages that best cover the
//   question's terms, quoted with their [n] citations, or an honest "not found";
// - question rewriting is rule-based: it substitutes the entity a follow-up refers to
//   ("How about Emily Doe?") and says so when the reference cannot be resolved;
// - the injection classifier is nearest-neighbour over sentence embeddings (local-classifier.ts).
import { splitSentences } from '../retrieval/chunker.js';
import { planNextStepWithRules, planSubtasksWithRules } from './local-agent.js';
import { classifyLocally } from './local-classifier.js';
import { runLocalSqlTask } from './local-sql.js';
import type { ConversationTurn, OfflineTask } from './types.js';

const STOPWORDS = new Set(
  ('a an and are as at be been but by can could did do does for from had has have how i if in into is it its ' +
    'me my no not of on or our please should so than that the their them then there these they this those to ' +
    'us was we were what when where which who whom why will with would you your about after before any can\'t ' +
    'tell know want need get much many long does do done should could').split(' '),
);

function stem(word: string): string {
  return word.length > 4 ? word.replace(/(ies|ing|ed|es|s|ly)$/, '') : word;
}

export function contentTerms(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}-]*/gu) ?? []).filter((w) => !STOPWORDS.has(w)).map(stem);
}

const cells = (row: string) =>
  row
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((cell) => cell.trim());

/**
 * Markdown tables become one self-describing line per row ("Item: Printer; Refund: full;
 * Restocking fee: 15%"), so a quoted row carries its column names and a header row is never
 * mistaken for an answer.
 */
export function flattenTables(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const header = lines[i]!;
    if (/^\s*\|/.test(header) && /^\s*\|[\s|:-]+\|?\s*$/.test(lines[i + 1] ?? '')) {
      const names = cells(header);
      i += 2;
      for (; i < lines.length && /^\s*\|/.test(lines[i]!); i++) {
        out.push(
          cells(lines[i]!)
            .map((value, c) => (value && value !== '✓' ? (names[c] ? `${names[c]}: ${value}` : value) : ''))
            .filter(Boolean)
            .join('; ') + '.',
        );
      }
      i -= 1;
    } else {
      out.push(header);
    }
  }
  return out.join('\n');
}

/** Strip Markdown furniture so a quoted sentence reads as prose. */
function clean(sentence: string): string {
  return sentence
    .replace(/^\s*(?:[-*+]|\d+[.)]|#+)\s+/gm, '')
    .replace(/\*\*|__|`/g, '')
    .replace(/\s*\|\s*/g, ' | ')
    .replace(/\s+/g, ' ')
    .trim();
}

export const NOT_FOUND_ANSWER = "I couldn't find an answer to that in the available documents.";

/** Turns texts into unit vectors; the local model uses the configured embedder when it has one. */
export type EmbedTexts = (texts: string[]) => Promise<Float32Array[]>;

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

const RELATIONS =
  /\b(wife|husband|partner|spouse|son|daughter|child|children|kids|mother|father|mom|dad|parents?|brother|sister|boss|manager|friend|colleague|assistant|family)\b/i;
const SUBJECT_PRONOUN = /\b(he|she|they|him|her|them|his|hers|their|theirs)\b/i;

/** Named things in a sentence: runs of capitalised words, or product-like codes such as "LX-200". */
export function entities(text: string): string[] {
  // Codes first: "LX-200" must not stop at "LX-".
  const found = text.match(/\b(?:[A-Z0-9]+-\d+[A-Z]*|[A-Z][\p{L}'-]*)(?:\s+(?:[A-Z0-9]+-\d+[A-Z]*|[A-Z][\p{L}'-]*|\d+[A-Z]?\b))*/gu) ?? [];
  const sentenceStart = /^(What|When|Where|Who|Why|How|Which|Is|Are|Can|Could|Does|Did|Do|Should|Will|Would|Tell|Please|And|The|A|An|I)$/;
  return found
    .map((e) => e.split(/\s+/).filter((w, i) => !(i === 0 && sentenceStart.test(w))).join(' '))
    .filter((e) => e.length > 1);
}

export interface RewriteOutcome {
  resolved: boolean;
  standalone?: string;
  missing?: string;
}

export function rewriteWithRules(question: string, conversation: ConversationTurn[]): RewriteOutcome {
  const q = question.trim();
  const previous = [...conversation].reverse().find((t) => t.role === 'user' && t.content.trim() !== q)?.content.trim();
  const followUp = /^(?:and\s+)?(?:how|what)\s+about\s+(.+?)\??$/i.exec(q);
  const hasPronoun = SUBJECT_PRONOUN.test(q);
  if (!previous) {
    if (followUp || hasPronoun) return { resolved: false, missing: 'there is no earlier question to refer to' };
    return { resolved: true, standalone: q };
  }
  const prevEntities = entities(previous);
  const referent = prevEntities[prevEntities.length - 1];

  if (followUp) {
    const target = followUp[1]!.replace(/^(the|a|an)\s+/i, '').trim();
    const possessive = /^(his|her|their|its)\s+(.+)$/i.exec(target);
    if (possessive) {
      if (RELATIONS.test(possessive[2]!)) {
        return { resolved: false, missing: `who ${referent ? `${referent}'s` : 'their'} ${possessive[2]} is is not known from the conversation` };
      }
      if (!referent) return { resolved: false, missing: `it is unclear whose ${possessive[2]} is meant` };
      return { resolved: true, standalone: previous.replace(referent, `${referent}'s ${possessive[2]}`) };
    }
    if (!referent) return { resolved: false, missing: `it is unclear how "${target}" relates to "${previous}"` };
    return { resolved: true, standalone: previous.replace(referent, target) };
  }

  if (hasPronoun) {
    if (!referent) return { resolved: false, missing: 'it is unclear who the pronoun refers to' };
    const relation = new RegExp(`\\b(his|her|their)\\s+${RELATIONS.source}`, 'i').exec(q);
    if (relation) return { resolved: false, missing: `who ${referent}'s ${relation[2]} is is not known from the conversation` };
    const standalone = q
      .replace(/\b(his|her|their|hers|theirs)\b/gi, `${referent}'s`)
      .replace(/\b(he|she|they|him|them)\b/gi, referent);
    return { resolved: true, standalone };
  }
  return { resolved: true, standalone: q };
}

export async function runLocalModel(task: OfflineTask | undefined, embed?: EmbedTexts): Promise<string> {
  if (!task) {
    return 'The offline local model only answers from retrieved documents, rewrites questions, writes SQL for known question shapes and follows a rule-based agent plan; set OPENAI_BASE_URL to use a language model.';
  }
  if (task.kind === 'answer') return answerExtractively(task.question, task.passages, embed);
  if (task.kind === 'sql') return runLocalSqlTask(task);
  if (task.kind === 'agent_step') return JSON.stringify(await planNextStepWithRules(task.state, embed));
  if (task.kind === 'plan') return JSON.stringify(planSubtasksWithRules(task.task));
  if (task.kind === 'classify') return classifyLocally(task.task, task.text, embed);
  return JSON.stringify(rewriteWithRules(task.question, task.conversation));
}
