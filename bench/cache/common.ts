// What the cache benchmark's parts share: the shape of a part's result and the one embedder they
// measure with — all-MiniLM-L6-v2, the semantic cache's own (local, offline).
import { loadLocalEmbedder } from '../../activities/retrieval/local-embedder.js';
import type { Embedder } from '../../activities/retrieval/embedder.js';
import { loadConfig } from '../../infra/config.js';
import type { BenchContext } from '../lib/bench.js';

/** One subsection of the cache report: its markdown and the numbers behind it. */
export interface PartResult {
  markdown: string;
  data: unknown;
}

export type CachePart = (ctx: BenchContext) => Promise<PartResult>;

/** The semantic cache's real embedder, loaded from .tools/models (GATEHOUSE_MODEL_DIR to move it). */
export function loadMiniLm(ctx: BenchContext): Promise<Embedder> {
  return loadLocalEmbedder(loadConfig({ EMBEDDING_PROVIDER: 'local', GATEHOUSE_MODEL_DIR: process.env.GATEHOUSE_MODEL_DIR }).embedding, ctx.log);
}

/** Cosine similarity of two vectors (the embedder's are unit length, but do not rely on it). */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

/**
 * The semantic threshold the later parts measure at: part (a) sets it to the operating point it
 * chooses; a part run alone uses the one (a) found when this benchmark was written.
 */
export const operatingPoint = { threshold: 0.85, chosenInThisRun: false };

export const pct = (x: number, digits = 1) => (Number.isFinite(x) ? `${(100 * x).toFixed(digits)}%` : 'n/a');

/** "met", or how far off the target a measurement is, in the target's unit. */
export function verdict(met: boolean, missedBy: string): string {
  return met ? 'met' : `**missed** by ${missedBy}`;
}
