// What an embedder is, apart from the implementations (embeddings.ts): the local one is loaded
// on demand from its own module, which must not import the module that loads it.

export type EmbeddingPurpose = 'document' | 'query';

export interface Embedder {
  /** Stable identity recorded in the database: vectors of different ids are incomparable. */
  readonly id: string;
  /** Human-readable name for reports and logs. */
  readonly description: string;
  readonly dimensions: number;
  embed(texts: string[], purpose: EmbeddingPurpose): Promise<Float32Array[]>;
  close?(): Promise<void>;
}
