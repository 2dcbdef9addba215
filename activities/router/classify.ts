// The intent classifier, in stages, cheapest first: keyword rules (tolerant of a one-letter typo
// in a longer word), then each intent's nearness to the request — a blend of its labeled
// examples' centroid and its single nearest example — then, only if the document names one, a
// small model through the gateway. Two intents nearly equally close make the request ambiguous:
// the router then asks which one is meant rather than guessing.
import { l2normalize } from '../retrieval/embeddings.js';
import type { Embedder } from '../retrieval/embedder.js';
import { matchesAnyPhrase, normalizeForMatching } from '../guardrails/scope.js';
import { contentTerms } from '../text.js';
import type { Intent, RoutingDocument } from './document.js';

export type Classification =
  | { kind: 'intent'; intent: Intent; stage: 'rules' | 'centroid' | 'model'; similarity?: number; nearest?: Nearest[] }
  | { kind: 'ambiguous'; between: [Intent, Intent]; stage: 'rules' | 'centroid' | 'model'; nearest?: Nearest[] }
  | { kind: 'none'; nearest?: Nearest[] };

export interface Nearest {
  intent: string;
  similarity: number;
}

/** The model stage: the document's classifier model, asked with the intents' names and descriptions. */
export type AskModel = (prompt: string) => Promise<string>;

export interface ClassifyOptions {
  /** False when the text may not be embedded yet (a remote embedder before the PII mask): rules only. */
  embed: boolean;
  askModel?: AskModel;
}

/** Example vectors and centroids are computed once per document version and embedder, then kept. */
const CENTROID_CACHE_LIMIT = 256;

/** One intent's place among the examples: its centroid and its examples' vectors (all unit length). */
interface IntentVectors {
  centroid: Float32Array;
  examples: Float32Array[];
}

export class IntentClassifier {
  private readonly centroids = new Map<string, Promise<Array<IntentVectors | undefined>>>();

  constructor(private readonly embedder: Pick<Embedder, 'id' | 'embed'>) {}

  async classify(doc: RoutingDocument, key: { tenantId: string; version: number }, text: string, opts: ClassifyOptions): Promise<Classification | { kind: 'deferred' }> {
    if (doc.intents.length === 0) return { kind: 'none' };

    // 1. Rules: one intent's keyword decides it. Keywords of several intents and nothing else
    // ("Freezing": the account or the weather?) is the ambiguity examples cannot see — the
    // query is as near to one as to the other only in the asker's head — so ask. Several with
    // more words around them leave it to the examples.
    const matched = doc.intents.flatMap((i) => {
      const keyword = i.keywords.length > 0 ? (matchesAnyPhrase(text, i.keywords) ?? nearMiss(text, i.keywords)) : undefined;
      return keyword === undefined ? [] : [{ intent: i, keyword }];
    });
    const bare = onlyKeywords(text, matched.map((m) => m.keyword));
    const { minSimilarity, ambiguityMargin, keywordOverrideMargin } = doc.classifier;
    if (matched.length === 1) {
      const ruled = { kind: 'intent', intent: matched[0]!.intent, stage: 'rules' } as const;
      // A keyword in a sentence may only name a thing the sentence is not about: where the text
      // may be embedded, the examples can outvote it — by a clear margin, not a close call.
      if (bare || !opts.embed || keywordOverrideMargin > 1) return ruled;
      const nearest = await this.nearest(doc, key, text);
      const [first] = nearest;
      const own = nearest.find((n) => n.intent === ruled.intent)?.similarity;
      const top = nearest.slice(0, 2).map((n) => ({ intent: n.intent.name, similarity: round(n.similarity) }));
      if (first && own !== undefined && first.intent !== ruled.intent && first.similarity >= minSimilarity && first.similarity - own >= keywordOverrideMargin) {
        return { kind: 'intent', intent: first.intent, stage: 'centroid', similarity: round(first.similarity), nearest: top };
      }
      return { ...ruled, nearest: top };
    }
    if (matched.length >= 2 && bare) {
      return { kind: 'ambiguous', between: [matched[0]!.intent, matched[1]!.intent], stage: 'rules' };
    }
    if (!opts.embed) return { kind: 'deferred' };

    // 2. The nearest intent by its examples (centroid and nearest example, see nearest()).
    const nearest = await this.nearest(doc, key, text);
    const [first, second] = nearest;
    const top = nearest.slice(0, 2).map((n) => ({ intent: n.intent.name, similarity: round(n.similarity) }));
    if (first && first.similarity >= minSimilarity) {
      if (second && first.similarity - second.similarity < ambiguityMargin) return { kind: 'ambiguous', between: [first.intent, second.intent], stage: 'centroid', nearest: top };
      return { kind: 'intent', intent: first.intent, stage: 'centroid', similarity: round(first.similarity), nearest: top };
    }

    // 3. A small model, when the document names one.
    if (opts.askModel && doc.classifier.model) {
      const answer = await opts.askModel(modelPrompt(doc, text)).catch(() => undefined);
      const named = answer ? parseModelAnswer(answer, doc) : undefined;
      if (named?.kind === 'intent') return { kind: 'intent', intent: named.intent, stage: 'model', nearest: top };
      if (named?.kind === 'ambiguous') return { kind: 'ambiguous', between: named.between, stage: 'model', nearest: top };
    }
    return { kind: 'none', nearest: top };
  }

  /**
   * Intents with examples, nearest first. The centroid of varied examples ("where is my order",
   * "change the delivery address") sits between them, near none: a request close to one example
   * is scored partly by that example (exampleWeight), not only by the blur.
   */
  private async nearest(doc: RoutingDocument, key: { tenantId: string; version: number }, text: string) {
    const [vectors, [raw]] = await Promise.all([this.centroidsOf(doc, key), this.embedder.embed([text], 'query')]);
    const query = l2normalize(raw!);
    const w = doc.classifier.exampleWeight;
    const scored: Array<{ intent: Intent; similarity: number }> = [];
    doc.intents.forEach((intent, i) => {
      const v = vectors[i];
      if (!v) return;
      const best = w > 0 ? Math.max(...v.examples.map((e) => dot(e, query))) : 0;
      scored.push({ intent, similarity: (1 - w) * dot(v.centroid, query) + w * best });
    });
    return scored.sort((a, b) => b.similarity - a.similarity);
  }

  private centroidsOf(doc: RoutingDocument, key: { tenantId: string; version: number }): Promise<Array<IntentVectors | undefined>> {
    // The version is part of the key, and a version never changes once written.
    const cacheKey = `${key.tenantId}\u0000${key.version}\u0000${this.embedder.id}`;
    let pending = this.centroids.get(cacheKey);
    if (!pending) {
      pending = computeCentroids(doc, this.embedder);
      pending.catch(() => this.centroids.delete(cacheKey));
      if (this.centroids.size >= CENTROID_CACHE_LIMIT) this.centroids.delete(this.centroids.keys().next().value!);
      this.centroids.set(cacheKey, pending);
    }
    return pending;
  }
}

async function computeCentroids(doc: RoutingDocument, embedder: Pick<Embedder, 'embed'>): Promise<Array<IntentVectors | undefined>> {
  const all = doc.intents.flatMap((i) => i.examples);
  const vectors = all.length ? (await embedder.embed(all, 'query')).map(l2normalize) : [];
  let at = 0;
  return doc.intents.map((i) => {
    if (i.examples.length === 0) return undefined;
    const examples = vectors.slice(at, at + i.examples.length);
    at += i.examples.length;
    const sum = new Float32Array(examples[0]!.length);
    for (const n of examples) for (let d = 0; d < sum.length; d++) sum[d]! += n[d]!;
    return { centroid: l2normalize(sum), examples };
  });
}

/** The clarifying question for two intents: "Do you want to freeze your account, or are you talking about the weather?" */
export function clarifyingQuestion(a: Intent, b: Intent): string {
  const phrase = (i: Intent) => i.clarifyAs ?? `do you mean ${i.description ?? i.name.replace(/[_-]+/g, ' ')}`;
  const first = phrase(a);
  return `${first.charAt(0).toUpperCase()}${first.slice(1)}, or ${phrase(b)}?`;
}

function modelPrompt(doc: RoutingDocument, text: string): string {
  const intents = doc.intents.map((i) => `- ${i.name}: ${i.description ?? i.examples.slice(0, 3).join(' | ')}`).join('\n');
  return [
    'Classify the user request into one of these intents.',
    intents,
    'Reply with JSON only: {"intent": "<name>"} for one intent, {"intent": null} for none, or {"ambiguous": ["<name>", "<name>"]} when it could equally be either.',
    `Request: ${text}`,
  ].join('\n\n');
}

type ModelAnswer = { kind: 'intent'; intent: Intent } | { kind: 'ambiguous'; between: [Intent, Intent] };

function parseModelAnswer(answer: string, doc: RoutingDocument): ModelAnswer | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer);
  } catch {
    return undefined;
  }
  const byName = (n: unknown) => doc.intents.find((i) => i.name === n);
  if (parsed && typeof parsed === 'object') {
    const o = parsed as { intent?: unknown; ambiguous?: unknown };
    if (Array.isArray(o.ambiguous)) {
      const [a, b] = o.ambiguous.map(byName);
      if (a && b && a !== b) return { kind: 'ambiguous', between: [a, b] };
    }
    const intent = byName(o.intent);
    if (intent) return { kind: 'intent', intent };
  }
  return undefined;
}

/** True when every content word of the text belongs to one of the matched keywords (or their misspellings, as said). */
function onlyKeywords(text: string, keywords: string[]): boolean {
  const covered = keywords.flatMap(contentTerms);
  const same = (a: string, b: string) => a === b || (Math.min(a.length, b.length) >= 4 && (a.startsWith(b) || b.startsWith(a)));
  return contentTerms(text).every((t) => covered.some((k) => same(t, k)));
}

/** Typos are forgiven only in words this long: in shorter ones one letter changes the word ("ink" ~ "inc"). */
const TYPO_MIN_LENGTH = 5;

/**
 * A word of the text that misspells a one-word keyword ("pasword", "reciept"), as the text has it
 * (so onlyKeywords counts it as the keyword), when exact matching (matchesAnyPhrase) found none.
 * Kept here rather than in the shared guardrail matcher: a blocked topic must not widen to its
 * near-misses, a routing hint may.
 */
function nearMiss(text: string, keywords: readonly string[]): string | undefined {
  const words = normalizeForMatching(text).split(/[^\p{L}\p{N}]+/u).filter((w) => w.length >= TYPO_MIN_LENGTH);
  const single = keywords.filter((k) => /^\p{L}+$/u.test(k)).map((k) => k.toLowerCase());
  return words.find((w) => single.some((k) => oneTypoApart(w, k)));
}

/**
 * True when a and b (both at least TYPO_MIN_LENGTH long, same first letter — typos rarely start
 * a word, and "breeze" is not "freeze") differ by one inserted, deleted, replaced or two swapped
 * neighbouring letters.
 */
function oneTypoApart(a: string, b: string): boolean {
  if (a === b || Math.min(a.length, b.length) < TYPO_MIN_LENGTH || a[0] !== b[0] || Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  if (a.length === b.length) return a.slice(i + 1) === b.slice(i + 1) || (a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2));
  return a.length > b.length ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
