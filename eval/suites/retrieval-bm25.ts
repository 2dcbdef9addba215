// BM25 retrieval quality on the SOTU labeled set: term search alone reads no embedding, so the
// chunks' vector column is filled by the fast hashing embedder (never queried), and the suite fits
// CI's budget where the modes that read MiniLM vectors (retrieval.ts) do not.
import { HashingEmbedder } from '../../activities/retrieval/embeddings.js';
import { loadConfig } from '../../infra/config.js';
import type { Suite } from '../suite.js';
import { QRELS, scoreSotuRetrieval } from './sotu-retrieval.js';

export const retrievalBm25: Suite = {
  name: 'retrieval-bm25',
  title: `SOTU labeled set (${QRELS.length} questions): nDCG@10 and recall@10 of BM25`,
  ci: true,
  run: (ctx) => scoreSotuRetrieval(ctx, { suite: 'retrieval-bm25', config: loadConfig({}), embedder: new HashingEmbedder(384), modes: ['bm25'] }),
};
