/**
 * Self-check for the SOTU retrieval-evaluation set.
 *
 *   npx tsx bench/sotu/check.ts
 *
 * 1. loads the passage corpus (default year range) and qrels.json,
 * 2. verifies that every judged passage id exists in the corpus (exit code 1 otherwise),
 * 3. prints corpus / question / judgment statistics,
 * 4. runs a trivial in-memory BM25 baseline (written inline, no dependencies) and prints
 *    recall@10 and nDCG@10, overall and per question style — a sanity check that the set is
 *    neither trivial nor impossible, not a reference implementation.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FROM_YEAR, DEFAULT_TO_YEAR, loadSotuPassages, type SotuPassage } from './corpus.js';

type Qrel = {
  id: string;
  question: string;
  relevant: Record<string, number>;
  style?: string;
  seed?: string;
};

const K = 10;

const qrelsPath = fileURLToPath(new URL('./qrels.json', import.meta.url));
const qrels = JSON.parse(readFileSync(qrelsPath, 'utf8')) as Qrel[];
const passages = loadSotuPassages();
const byId = new Map<string, SotuPassage>(passages.map((p) => [p.id, p]));

// ---------------------------------------------------------------- integrity
const problems: string[] = [];
const seenQ = new Set<string>();
for (const q of qrels) {
  if (seenQ.has(q.id)) problems.push(`duplicate question id ${q.id}`);
  seenQ.add(q.id);
  const entries = Object.entries(q.relevant);
  if (entries.length === 0) problems.push(`${q.id}: no relevant passages`);
  if (!entries.some(([, g]) => g === 2)) problems.push(`${q.id}: no grade-2 passage`);
  for (const [pid, grade] of entries) {
    if (!byId.has(pid)) problems.push(`${q.id}: unknown passage id ${pid}`);
    if (grade !== 1 && grade !== 2) problems.push(`${q.id}: bad grade ${grade} for ${pid}`);
  }
}

// ---------------------------------------------------------------- stats
const words = passages.map((p) => p.text.split(/\s+/).length).sort((a, b) => a - b);
const relCounts = qrels.map((q) => Object.keys(q.relevant).length);
const grade2 = qrels.reduce((n, q) => n + Object.values(q.relevant).filter((g) => g === 2).length, 0);
const grade1 = qrels.reduce((n, q) => n + Object.values(q.relevant).filter((g) => g === 1).length, 0);
const speeches = new Set(passages.map((p) => p.title)).size;
const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

console.log(`corpus: ${passages.length} passages from ${speeches} speeches, ${DEFAULT_FROM_YEAR}-${DEFAULT_TO_YEAR}`);
console.log(
  `passage length (words): min ${words[0] ?? 0}, median ${words[Math.floor(words.length / 2)] ?? 0}, max ${words[words.length - 1] ?? 0}`,
);
console.log(`questions: ${qrels.length}`);
const styles = new Map<string, number>();
for (const q of qrels) styles.set(q.style ?? 'unlabelled', (styles.get(q.style ?? 'unlabelled') ?? 0) + 1);
console.log(`styles: ${[...styles].map(([s, n]) => `${s}=${n}`).join(', ')}`);
console.log(
  `relevant judgments per question: min ${Math.min(...relCounts)}, mean ${mean(relCounts).toFixed(2)}, max ${Math.max(...relCounts)}` +
    ` (total ${grade1 + grade2}: ${grade2} x grade 2, ${grade1} x grade 1)`,
);
const judgedIds = new Set(qrels.flatMap((q) => Object.keys(q.relevant)));
console.log(`distinct judged passages: ${judgedIds.size}`);

if (problems.length) {
  console.error(`\n${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  process.exitCode = 1;
} else {
  console.log('integrity: OK (every judged id exists in the corpus)');
}

// ---------------------------------------------------------------- BM25 baseline
const STOP = new Set(
  ('a an the and or of to in on for with by at from as is are was were be been it its this that these those we our us ' +
    'i you he she they them their his her not no but if so do does did have has had will would shall should can could ' +
    'may might must than then there here what which who whom whose when where why how all any each more most other some ' +
    'such only own same too very just also into over under about against between through during before after')
    .split(' '),
);
function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    if (STOP.has(raw)) continue;
    // crude plural stripping only
    out.push(raw.length > 4 && raw.endsWith('ies') ? `${raw.slice(0, -3)}y` : raw.length > 3 && raw.endsWith('s') && !raw.endsWith('ss') ? raw.slice(0, -1) : raw);
  }
  return out;
}

const k1 = 1.2;
const b = 0.75;
const docTf: Map<string, number>[] = [];
const docLen: number[] = [];
const df = new Map<string, number>();
for (const p of passages) {
  const tf = new Map<string, number>();
  const toks = tokenize(p.text);
  for (const t of toks) tf.set(t, (tf.get(t) ?? 0) + 1);
  for (const t of tf.keys()) df.set(t, (df.get(t) ?? 0) + 1);
  docTf.push(tf);
  docLen.push(toks.length);
}
const N = passages.length;
const avgLen = mean(docLen);

function bm25Top(query: string, k: number): string[] {
  const terms = [...new Set(tokenize(query))];
  const scores: { i: number; s: number }[] = [];
  for (let i = 0; i < N; i++) {
    const tf = docTf[i];
    const len = docLen[i] ?? 0;
    if (!tf) continue;
    let s = 0;
    for (const t of terms) {
      const f = tf.get(t);
      if (!f) continue;
      const n = df.get(t) ?? 0;
      const idf = Math.log(1 + (N - n + 0.5) / (n + 0.5));
      s += (idf * f * (k1 + 1)) / (f + k1 * (1 - b + (b * len) / avgLen));
    }
    if (s > 0) scores.push({ i, s });
  }
  scores.sort((x, y) => y.s - x.s || x.i - y.i);
  return scores.slice(0, k).map(({ i }) => passages[i]?.id ?? '');
}

function ndcgAt(ranked: readonly string[], rel: Record<string, number>, k: number): number {
  let dcg = 0;
  ranked.slice(0, k).forEach((id, r) => {
    dcg += (rel[id] ?? 0) / Math.log2(r + 2); // linear gain, as trec_eval
  });
  const ideal = Object.values(rel).sort((x, y) => y - x).slice(0, k);
  const idcg = ideal.reduce((acc, g, r) => acc + g / Math.log2(r + 2), 0);
  return idcg > 0 ? dcg / idcg : 0;
}
function recallAt(ranked: readonly string[], rel: Record<string, number>, k: number): number {
  const relevant = Object.keys(rel);
  const hits = ranked.slice(0, k).filter((id) => (rel[id] ?? 0) > 0).length;
  return relevant.length ? hits / relevant.length : 0;
}

type Acc = { n: number; recall: number; ndcg: number; anyHit: number };
const acc = new Map<string, Acc>();
const add = (key: string, r: number, g: number, hit: boolean): void => {
  const a = acc.get(key) ?? { n: 0, recall: 0, ndcg: 0, anyHit: 0 };
  a.n += 1;
  a.recall += r;
  a.ndcg += g;
  a.anyHit += hit ? 1 : 0;
  acc.set(key, a);
};
for (const q of qrels) {
  const ranked = bm25Top(q.question, K);
  const r = recallAt(ranked, q.relevant, K);
  const g = ndcgAt(ranked, q.relevant, K);
  const hit = ranked.some((id) => (q.relevant[id] ?? 0) > 0);
  add('all', r, g, hit);
  add(q.style ?? 'unlabelled', r, g, hit);
}
console.log(`\nsanity baseline: inline BM25 (k1=${k1}, b=${b}), question text as query, top ${K}`);
for (const [key, a] of [...acc].sort(([x], [y]) => (x === 'all' ? -1 : y === 'all' ? 1 : x.localeCompare(y)))) {
  console.log(
    `  ${key.padEnd(11)} n=${String(a.n).padStart(3)}  recall@${K}=${(a.recall / a.n).toFixed(3)}  nDCG@${K}=${(a.ndcg / a.n).toFixed(3)}  ` +
      `questions with >=1 hit=${((100 * a.anyHit) / a.n).toFixed(0)}%`,
  );
}
