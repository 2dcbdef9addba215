// What the two retrieval suites share: the labeled State of the Union set (bench/sotu: 125
// questions with graded judgments over 3,695 passages) indexed through the product's ingestion
// into native Postgres, and nDCG@10 and recall@10 of retrieval modes at the product's defaults
// (infra/config.ts: candidates, RRF k, ef_search; sequential mode's fused rerank). The metrics are
// bench (d)'s own functions.
import { retrieveHybrid } from '../../activities/retrieval/search.js';
import type { Embedder } from '../../activities/retrieval/embedder.js';
import type { RetrievalMode } from '../../contracts/retrieval.js';
import type { Config } from '../../infra/config.js';
import { startBenchDatabase } from '../../bench/lib/databases.js';
import { mean } from '../../bench/lib/stats.js';
import { ndcgAt, recallAt, QRELS } from '../../bench/retrieval-quality.js';
import { loadSotuPassages } from '../../bench/sotu/corpus.js';
import { indexDocuments } from '../../test/support/corpus.js';
import { metric, type EvalContext, type SuiteResult } from '../suite.js';
import type { MetricKind } from '../tolerances.js';

export { QRELS };

/** Chunks fetched per question: a passage ranks where its best chunk does, and @10 needs ten passages. */
const TOP_K = 30;

/**
 * BM25 is exact arithmetic over postings; sequential mode reranks BM25's candidates by exact cosine
 * distances (MiniLM vectors); vector and ensemble modes go through the HNSW index (approximate).
 */
const KIND = { bm25: 'exact', sequential: 'embedding', vector: 'ann', ensemble: 'ann' } as const satisfies Record<RetrievalMode, MetricKind>;

export function sotuDocuments() {
  return loadSotuPassages().map((p) => ({ id: p.id, title: p.title, text: p.text }));
}

export async function scoreSotuRetrieval(
  ctx: EvalContext,
  o: { suite: string; config: Config; embedder: Embedder; modes: readonly RetrievalMode[] },
): Promise<SuiteResult> {
  const documents = sotuDocuments();
  const database = await startBenchDatabase('native', o.embedder);
  try {
    ctx.log(`indexing ${documents.length} SOTU passages`);
    await indexDocuments({ db: database.db, embedder: o.embedder }, { tenantId: 'eval', collection: 'sotu', documents, chunking: o.config.chunking, batchSize: 200 });
    const metrics = [];
    const perMode: Record<string, { ndcg: number; recall: number }> = {};
    for (const mode of o.modes) {
      const ndcg: number[] = [];
      const recall: number[] = [];
      for (const q of QRELS) {
        const result = await retrieveHybrid(
          { db: database.db, caps: database.caps, embedder: o.embedder },
          { tenantId: 'eval', collection: 'sotu', query: q.question, ...o.config.retrieval, mode, topK: TOP_K },
        );
        const ranked = [...new Set(result.passages.map((p) => p.documentId))];
        ndcg.push(ndcgAt(10, ranked, q.relevant));
        recall.push(recallAt(10, ranked, q.relevant));
      }
      perMode[mode] = { ndcg: mean(ndcg), recall: mean(recall) };
      metrics.push(metric(o.suite, `${mode}.ndcg@10`, mean(ndcg), 'higher', KIND[mode]), metric(o.suite, `${mode}.recall@10`, mean(recall), 'higher', KIND[mode]));
    }
    return { metrics, details: { passages: documents.length, embedder: o.embedder.id, options: { ...o.config.retrieval, topK: TOP_K }, perMode } };
  } finally {
    await database.stop();
  }
}
