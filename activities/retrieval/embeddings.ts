// Embeddings behind one interface. Three implementations:
// - `openai`: any OpenAI-compatible /embeddings endpoint, through the openai package;
// - `local`: all-MiniLM-L6-v2, a real sentence-embedding model run in-process (offline default);
// - `hashing`: a feature-hashing embedder — lexical, not semantic — named as such wherever it
//   is reported, for machines where the local model cannot be loaded.
import OpenAI from 'openai';
import type { Config } from '../../infra/config.js';
import type { Embedder, EmbeddingPurpose } from './embedder.js';
import { inEmbeddingsSpan } from './embedding-spans.js';

export type { Embedder, EmbeddingPurpose };

export function l2normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}

/** OpenAI-compatible endpoint. Batches requests; the client retries 429/5xx with backoff. */
export class OpenAIEmbedder implements Embedder {
  readonly id: string;
  readonly description: string;
  private readonly client: OpenAI;

  constructor(
    private readonly opts: { baseUrl: string; apiKey?: string; model: string; dimensions: number; batchSize: number },
  ) {
    this.id = `openai:${opts.model}@${opts.dimensions}`;
    this.description = `${opts.model} via ${new URL(opts.baseUrl).host} (${opts.dimensions} dimensions)`;
    this.client = new OpenAI({ baseURL: opts.baseUrl, apiKey: opts.apiKey ?? 'not-needed', maxRetries: 2, timeout: 60_000 });
  }

  get dimensions(): number {
    return this.opts.dimensions;
  }

  embed(texts: string[], purpose?: EmbeddingPurpose): Promise<Float32Array[]> {
    return inEmbeddingsSpan({ name: this.opts.model, provider: 'openai', dimensions: this.opts.dimensions }, texts, purpose, () => this.embedBatches(texts));
  }

  private async embedBatches(texts: string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.opts.batchSize) {
      const batch = texts.slice(i, i + this.opts.batchSize);
      const res = await this.client.embeddings.create({
        model: this.opts.model,
        input: batch,
        dimensions: this.opts.dimensions,
        encoding_format: 'float',
      });
      const data = [...res.data].sort((a, b) => a.index - b.index);
      if (data.length !== batch.length) throw new Error(`embedding endpoint returned ${data.length} vectors for ${batch.length} inputs`);
      for (const d of data) {
        if (d.embedding.length !== this.opts.dimensions) {
          throw new Error(`embedding endpoint returned ${d.embedding.length} dimensions, expected ${this.opts.dimensions}`);
        }
        out.push(l2normalize(Float32Array.from(d.embedding)));
      }
    }
    return out;
  }
}

const WORD = /[\p{L}\p{N}]+/gu;

/** FNV-1a, 32-bit: fast and stable across runs and machines. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Feature hashing of word unigrams and bigrams with signed buckets and log term frequency.
 * Lexical similarity only: it cannot match paraphrases. Used when no real model is available.
 */
export class HashingEmbedder implements Embedder {
  readonly id: string;
  readonly description: string;

  constructor(readonly dimensions = 384) {
    this.id = `hashing:v1@${dimensions}`;
    this.description = `feature-hashing embedder (lexical, not a semantic model; ${dimensions} dimensions)`;
  }

  embed(texts: string[], purpose?: EmbeddingPurpose): Promise<Float32Array[]> {
    return inEmbeddingsSpan({ name: 'feature-hashing', provider: 'gatehouse.hashing', dimensions: this.dimensions }, texts, purpose, async () => texts.map((t) => this.embedOne(t)));
  }

  private embedOne(text: string): Float32Array {
    const words = (text.toLowerCase().match(WORD) ?? []).map((w) => (w.length > 4 ? w.replace(/(ing|ed|es|s)$/, '') : w));
    const counts = new Map<string, number>();
    for (let i = 0; i < words.length; i++) {
      counts.set(words[i]!, (counts.get(words[i]!) ?? 0) + 1);
      if (i + 1 < words.length) counts.set(`${words[i]} ${words[i + 1]}`, (counts.get(`${words[i]} ${words[i + 1]}`) ?? 0) + 0.5);
    }
    const v = new Float32Array(this.dimensions);
    for (const [feature, count] of counts) {
      const h = fnv1a(feature);
      v[h % this.dimensions]! += (h & 0x80000000 ? -1 : 1) * (1 + Math.log(count));
    }
    return l2normalize(v);
  }
}

export async function createEmbedder(config: Config['embedding'], log?: (message: string) => void): Promise<Embedder> {
  switch (config.provider) {
    case 'openai':
      return new OpenAIEmbedder({
        baseUrl: config.baseUrl!,
        apiKey: config.apiKey,
        model: config.model,
        dimensions: config.dimensions,
        batchSize: config.batchSize,
      });
    case 'hashing':
      return new HashingEmbedder(config.dimensions);
    case 'local': {
      const { loadLocalEmbedder } = await import('./local-embedder.js');
      return loadLocalEmbedder(config, log);
    }
  }
}
