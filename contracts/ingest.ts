// ingestDocuments' contract: the staged ingestion it indexes and its progress. (Its totals,
// IngestionSummary, are declared with the SQL that counts them, activities/retrieval/ingest.ts.)
import { z } from 'zod';

export const ingestInput = z.object({
  ingestionId: z.string(),
  tenantId: z.string(),
  documentCount: z.number().int(),
  batchSize: z.number().int(),
  parallelBatches: z.number().int(),
});
export type IngestInput = z.infer<typeof ingestInput>;

/** The progress query's answer. */
export const ingestProgress = z.object({
  documents: z.number().int(),
  processed: z.number().int(),
  indexed: z.number().int(),
  unchanged: z.number().int(),
  failed: z.number().int(),
  chunks: z.number().int(),
  batches: z.object({ total: z.number().int(), done: z.number().int() }),
  embedMs: z.number(),
});
export type IngestProgress = z.infer<typeof ingestProgress>;
