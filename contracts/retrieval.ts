// How a task asks for its passages: the retrieval modes and the order sequential mode ranks in.
import { z } from 'zod';

/** ensemble: full-text and vector fused (RRF); sequential: full-text candidates reranked by similarity. */
export const retrievalMode = z.enum(['ensemble', 'sequential', 'bm25', 'vector']);
export type RetrievalMode = z.infer<typeof retrievalMode>;

/**
 * How sequential mode orders the term candidates: by vector similarity alone, or by fusing
 * their term and similarity ranks (the default).
 */
export const sequentialRerank = z.enum(['similarity', 'fused']);
export type SequentialRerank = z.infer<typeof sequentialRerank>;
