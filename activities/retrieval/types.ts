// Data shapes shared by retrieval activities and the workflows that call them
// (workflows import these as types only).
import type { RetrievalMode, SequentialRerank } from '../../contracts/retrieval.js';

export interface RetrievalOptions {
  mode: RetrievalMode;
  topK: number;
  /** How many candidates each retriever contributes before fusion or reranking. */
  candidates: number;
  rrfK: number;
  efSearch: number;
  rerank?: SequentialRerank;
  /** Chunks whose metadata contains this JSON object (jsonb @>). */
  filter?: Record<string, unknown>;
}

export interface Passage {
  chunkId: string;
  documentId: string;
  title: string | null;
  heading: string;
  text: string;
  source: string | null;
  metadata: Record<string, unknown>;
  /** The final score in the chosen mode (RRF score, BM25 score, or cosine similarity). */
  score: number;
  /** 1-based rank per retriever that ranked this passage. */
  ranks: { bm25?: number; vector?: number };
}

export interface RetrievalResult {
  passages: Passage[];
  mode: RetrievalMode;
  /** Set when sequential mode found no term matches and fell back to vector search. */
  fallback?: 'vector';
  timings: { embedMs: number; bm25Ms: number; vectorMs: number; totalMs: number };
  embedder: string;
  /** The exact cache's outcome, when it is on: served from it, or stored for the next identical query. */
  cache?: { layer: 'exact'; outcome: 'hit' | 'stored'; corpusVersion: number; ageSeconds?: number };
}
