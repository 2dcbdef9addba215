// Put documents into a collection the way an ingestion does (stage, then index batches),
// without the API or a workflow: for tests of storage and retrieval.
import { randomBytes } from 'node:crypto';
import { indexBatch, type BatchOutcome } from '../../activities/retrieval/ingest.js';
import { stageDocuments } from '../../api/staging.js';
import type { Services } from '../../infra/services.js';

export interface TestDocument {
  id?: string;
  title?: string;
  text: string;
  source?: string;
  metadata?: Record<string, unknown>;
}

export async function indexDocuments(
  services: Pick<Services, 'db' | 'embedder'>,
  opts: { tenantId: string; collection: string; documents: TestDocument[]; chunking?: { maxTokens: number; overlapTokens: number }; batchSize?: number },
): Promise<BatchOutcome & { ingestionId: string }> {
  await services.db.query('INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [opts.tenantId]);
  const ingestionId = `ing_test_${randomBytes(6).toString('hex')}`;
  await stageDocuments(services.db, ingestionId, opts.tenantId, { collection: opts.collection, documents: opts.documents });
  const total: BatchOutcome = { documents: 0, indexed: 0, unchanged: 0, failed: 0, chunks: 0, errors: [], embedMs: 0, writeMs: 0, totalMs: 0 };
  const size = opts.batchSize ?? 50;
  for (let from = 0; from < opts.documents.length; from += size) {
    const o = await indexBatch(
      { db: services.db, embedder: services.embedder, chunking: opts.chunking ?? { maxTokens: 300, overlapTokens: 40 } },
      { ingestionId, from, to: Math.min(from + size, opts.documents.length) },
    );
    total.documents += o.documents;
    total.indexed += o.indexed;
    total.unchanged += o.unchanged;
    total.failed += o.failed;
    total.chunks += o.chunks;
    total.errors.push(...o.errors);
    total.embedMs += o.embedMs;
    total.writeMs += o.writeMs;
    total.totalMs += o.totalMs;
  }
  return { ...total, ingestionId };
}
