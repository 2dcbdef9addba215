// Embeddings of benchmark texts, computed once with the real local model and kept on disk,
// so repeated benchmark runs measure retrieval, not the embedder.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Embedder } from '../../activities/retrieval/embeddings.js';

export const CACHE_DIR = path.resolve('.tools', 'bench-cache');

/**
 * Vectors for `texts` from `embedder`, cached under `name` (invalidated when the texts or the
 * embedder change). Returns the vectors and how long computing them took (0 when cached).
 */
export async function cachedEmbeddings(
  name: string,
  texts: string[],
  embedder: Embedder,
  onProgress?: (done: number, total: number) => void,
): Promise<{ vectors: Float32Array[]; computeMs: number; cached: boolean }> {
  const key = createHash('sha256').update(embedder.id).update('\0').update(texts.join('\0')).digest('hex').slice(0, 16);
  const file = path.join(CACHE_DIR, `${name}-${key}.f32`);
  const d = embedder.dimensions;
  try {
    const buf = await readFile(file);
    const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    if (all.length === texts.length * d) {
      return { vectors: texts.map((_, i) => all.slice(i * d, (i + 1) * d)), computeMs: 0, cached: true };
    }
  } catch {
    // not cached yet
  }
  const t0 = performance.now();
  const vectors: Float32Array[] = [];
  const step = 512;
  for (let i = 0; i < texts.length; i += step) {
    vectors.push(...(await embedder.embed(texts.slice(i, i + step), 'document')));
    onProgress?.(Math.min(i + step, texts.length), texts.length);
  }
  const computeMs = performance.now() - t0;
  await mkdir(CACHE_DIR, { recursive: true });
  const out = new Float32Array(texts.length * d);
  vectors.forEach((v, i) => out.set(v, i * d));
  await writeFile(file, Buffer.from(out.buffer));
  return { vectors, computeMs, cached: false };
}

/** An embedder that answers from precomputed vectors: lets a benchmark time everything but the model. */
export class PrecomputedEmbedder implements Embedder {
  readonly description: string;
  private readonly byText = new Map<string, Float32Array>();

  constructor(
    private readonly inner: Embedder,
    texts: string[],
    vectors: Float32Array[],
  ) {
    this.description = `${inner.description} (precomputed)`;
    texts.forEach((t, i) => this.byText.set(t, vectors[i]!));
  }

  get id(): string {
    return this.inner.id;
  }
  get dimensions(): number {
    return this.inner.dimensions;
  }

  async embed(texts: string[], purpose: 'document' | 'query'): Promise<Float32Array[]> {
    const missing = texts.filter((t) => !this.byText.has(t));
    if (missing.length) {
      const fresh = await this.inner.embed(missing, purpose);
      missing.forEach((t, i) => this.byText.set(t, fresh[i]!));
    }
    return texts.map((t) => this.byText.get(t)!);
  }
}
