// Retrieval quality of the modes that read embeddings — vector, ensemble, sequential — on the SOTU
// labeled set, with the local MiniLM embeddings as bench (d) computes them (cached on disk under
// .tools/bench-cache, so a second run does not embed the 3,855 chunks again).
import { chunkDocument, embeddingText } from '../../activities/retrieval/chunker.js';
import { loadConfig } from '../../infra/config.js';
import { cachedEmbeddings, PrecomputedEmbedder } from '../../bench/lib/embedding-cache.js';
import type { Suite } from '../suite.js';
import { QRELS, scoreSotuRetrieval, sotuDocuments } from './sotu-retrieval.js';

export const retrieval: Suite = {
  name: 'retrieval',
  title: `SOTU labeled set (${QRELS.length} questions): nDCG@10 and recall@10 of the vector, ensemble and sequential modes`,
  // Embedding the 3,855 chunks takes 3–9 minutes on 2 cores without the disk cache: outside CI's subset.
  ci: false,
  async run(ctx) {
    const config = loadConfig({});
    const model = await ctx.embedder();
    const chunkTexts = sotuDocuments().flatMap((d) => chunkDocument({ title: d.title, text: d.text }, config.chunking).map(embeddingText));
    const chunks = await cachedEmbeddings('sotu-chunks', chunkTexts, model, (done, total) => ctx.log(`embedding SOTU chunks ${done}/${total}`));
    const questions = await cachedEmbeddings('sotu-questions', QRELS.map((q) => q.question), model);
    const embedder = new PrecomputedEmbedder(model, [...chunkTexts, ...QRELS.map((q) => q.question)], [...chunks.vectors, ...questions.vectors]);
    return scoreSotuRetrieval(ctx, { suite: 'retrieval', config, embedder, modes: ['vector', 'ensemble', 'sequential'] });
  },
};
