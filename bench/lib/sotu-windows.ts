// A large real-text corpus for storage benchmarks: sentence windows over every State of the
// Union address (1790–2021), plus a fixed set of queries (the 125 SOTU questions and
// sentences sampled from the corpus). Everything is deterministic: same package version,
// same windows, same order, so embeddings can be cached on disk.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { countTokens } from 'gpt-tokenizer';
import { loadSotuPassages, splitSentences } from '../sotu/corpus.js';
import { mulberry32 } from '../../activities/router/clusters.js';

export interface SentenceWindow {
  /** `${speech}-s${first sentence:4}-w${size}`, e.g. `1962-kennedy-s0012-w3`. */
  id: string;
  /** `${year}-${lastname}` as in the SOTU passage ids. */
  speech: string;
  title: string;
  year: number;
  president: string;
  start: number;
  size: number;
  text: string;
  /** gpt-tokenizer count, as the product's chunker records it. */
  tokenCount: number;
}

/** mulberry32, the router's seeded PRNG: enough for reproducible shuffles. */
export const seededRandom = mulberry32;

export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const rand = seededRandom(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Speech {
  speech: string;
  title: string;
  year: number;
  president: string;
  sentences: string[];
}

/** Every speech of the dataset as sentences (bench/sotu/corpus.ts' splitter over its passages). */
export function sotuSpeeches(): Speech[] {
  const speeches = new Map<string, Speech>();
  const texts = new Map<string, string[]>();
  for (const p of loadSotuPassages({ fromYear: 1790, toYear: 2021 })) {
    const speech = p.id.replace(/-p\d+$/, '');
    if (!speeches.has(speech)) {
      speeches.set(speech, { speech, title: p.title, year: p.year, president: p.president, sentences: [] });
      texts.set(speech, []);
    }
    texts.get(speech)!.push(p.text);
  }
  for (const s of speeches.values()) s.sentences = splitSentences(texts.get(s.speech)!.join(' '));
  return [...speeches.values()];
}

/**
 * Windows of consecutive sentences (stride 1) over every speech: all windows of the first
 * size, then of the next, … until `target` distinct texts exist; then a seeded shuffle, so
 * any prefix is a fair sample (the 10k set is the first 10,000).
 */
export function sentenceWindows(target: number, opts: { sizes?: number[]; seed?: number } = {}): SentenceWindow[] {
  const sizes = opts.sizes ?? [3, 2, 4, 5, 6];
  const speeches = sotuSpeeches();
  const seen = new Set<string>();
  const windows: Array<Omit<SentenceWindow, 'tokenCount'>> = [];
  outer: for (const size of sizes) {
    for (const s of speeches) {
      for (let start = 0; start + size <= s.sentences.length; start++) {
        const text = s.sentences.slice(start, start + size).join(' ');
        if (seen.has(text)) continue;
        seen.add(text);
        windows.push({
          id: `${s.speech}-s${String(start).padStart(4, '0')}-w${size}`,
          speech: s.speech,
          title: s.title,
          year: s.year,
          president: s.president,
          start,
          size,
          text,
        });
        if (windows.length >= target) break outer;
      }
    }
  }
  if (windows.length < target) throw new Error(`only ${windows.length} distinct windows (wanted ${target})`);
  return shuffled(windows, opts.seed ?? 20_240_601).map((w) => ({ ...w, tokenCount: countTokens(w.text) }));
}

export interface BenchQuery {
  text: string;
  kind: 'question' | 'sentence';
  /** qrels id for questions, window-free sentence reference for sampled sentences. */
  ref: string;
}

const QRELS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'sotu', 'qrels.json');

/** The 125 SOTU questions, then `sentences` corpus sentences (8–40 words) picked by a seeded shuffle. */
export function benchQueries(sentences = 75, seed = 7): BenchQuery[] {
  const qrels = JSON.parse(readFileSync(QRELS, 'utf8')) as Array<{ id: string; question: string }>;
  const questions: BenchQuery[] = qrels.map((q) => ({ text: q.question, kind: 'question', ref: q.id }));
  const pool: BenchQuery[] = [];
  const seen = new Set(questions.map((q) => q.text));
  for (const s of sotuSpeeches()) {
    s.sentences.forEach((text, i) => {
      const words = text.split(/\s+/).length;
      if (words < 8 || words > 40 || seen.has(text)) return;
      seen.add(text);
      pool.push({ text, kind: 'sentence', ref: `${s.speech}#${i}` });
    });
  }
  return [...questions, ...shuffled(pool, seed).slice(0, sentences)];
}
