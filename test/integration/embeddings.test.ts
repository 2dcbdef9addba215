// The embedding providers behind the one interface: an OpenAI-compatible /embeddings endpoint
// (the scripted server, over HTTP, through the real openai client) and feature hashing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashingEmbedder, OpenAIEmbedder, createEmbedder } from '../../activities/retrieval/embeddings.js';
import { testConfig } from '../support/harness.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../support/scripted-model-server.js';

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('embedders', () => {
  let server: ScriptedModelServer;
  beforeAll(async () => {
    server = await startScriptedModelServer({ models: ['embedder'], apiKey: 'sk-emb' });
  });
  afterAll(() => server.close());

  it('calls an OpenAI-compatible endpoint in batches, keeps input order and normalises', async () => {
    server.onEmbeddings((texts, dims) => texts.map((t) => Array.from({ length: dims }, (_, i) => (i === t.length % dims ? 3 : 0))));
    const embedder = new OpenAIEmbedder({ baseUrl: server.baseUrl, apiKey: 'sk-emb', model: 'embedder', dimensions: 16, batchSize: 2 });
    const texts = ['a', 'bb', 'ccc', 'dddd', 'eeeee'];
    const vectors = await embedder.embed(texts, 'document');
    expect(server.requests.filter((r) => r.kind === 'embeddings')).toHaveLength(3);
    expect(server.requests[0]!.body).toMatchObject({ model: 'embedder', input: ['a', 'bb'], dimensions: 16 });
    vectors.forEach((v, i) => {
      expect(norm(v)).toBeCloseTo(1, 6);
      expect(v[texts[i]!.length % 16]).toBeCloseTo(1, 6);
    });
    expect(embedder.id).toBe('openai:embedder@16');
  });

  it('refuses vectors of the wrong size rather than storing them', async () => {
    server.onEmbeddings((texts) => texts.map(() => [1, 0, 0]));
    const embedder = new OpenAIEmbedder({ baseUrl: server.baseUrl, apiKey: 'sk-emb', model: 'embedder', dimensions: 16, batchSize: 8 });
    await expect(embedder.embed(['x'], 'query')).rejects.toThrow(/returned 3 dimensions, expected 16/);
  });

  it('is chosen by configuration', async () => {
    const openai = await createEmbedder(testConfig({ EMBEDDING_PROVIDER: 'openai', EMBEDDING_BASE_URL: server.baseUrl, EMBEDDING_DIMENSIONS: '16' }).embedding);
    expect(openai).toBeInstanceOf(OpenAIEmbedder);
    const hashing = await createEmbedder(testConfig().embedding);
    expect(hashing).toBeInstanceOf(HashingEmbedder);
    expect(hashing.description).toMatch(/feature-hashing/);
  });

  it('feature hashing is deterministic, normalised and lexical', async () => {
    const h = new HashingEmbedder(384);
    const [a, b, c, a2] = await h.embed(['paper jam in the rear tray', 'rear tray paper jam', 'refund policy for returns', 'paper jam in the rear tray'], 'document');
    expect(Array.from(a!)).toEqual(Array.from(a2!));
    expect(norm(a!)).toBeCloseTo(1, 6);
    expect(cosine(a!, b!)).toBeGreaterThan(0.5);
    expect(Math.abs(cosine(a!, c!))).toBeLessThan(0.2);
  });
});
