// Bulk loading of pre-embedded, single-chunk documents for storage benchmarks. Writes the
// same rows ingestion does, through the same insertChunks/addCorpusStatistics, but skips
// staging, chunking and embedding: the vectors exist.
import { createHash } from 'node:crypto';
import { inTransaction, type Db } from '../../infra/db/pool.js';
import { addCorpusStatistics, insertChunks } from '../../activities/retrieval/ingest.js';

export interface BulkDocument {
  id: string;
  title: string | null;
  source: string | null;
  metadata: Record<string, unknown>;
  text: string;
  tokenCount: number;
  embedding: ArrayLike<number>;
}

export async function createCollection(db: Db, tenantId: string, name: string): Promise<number> {
  await db.query('INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [tenantId]);
  const { rows } = await db.query<{ id: number }>('INSERT INTO collections (tenant_id, name) VALUES ($1, $2) RETURNING id', [tenantId, name]);
  return rows[0]!.id;
}

/**
 * Insert `docs` (one chunk each, ordinal 0, no heading) in transactions of `batchSize`
 * documents; each batch updates postings, document frequencies and corpus statistics as an
 * ingestion batch would. Returns the time per batch (ms).
 */
export async function bulkLoad(
  db: Db,
  target: { tenantId: string; collectionId: number },
  docs: readonly BulkDocument[],
  opts: { batchSize?: number; onBatch?: (done: number, total: number, ms: number) => void } = {},
): Promise<number[]> {
  const size = opts.batchSize ?? 2000;
  const times: number[] = [];
  for (let from = 0; from < docs.length; from += size) {
    const batch = docs.slice(from, from + size);
    const t0 = performance.now();
    await inTransaction(db, async (client) => {
      await client.query('SELECT 1 FROM collections WHERE id = $1 FOR UPDATE', [target.collectionId]);
      await client.query(
        `INSERT INTO documents (collection_id, id, title, source, metadata, text, content_hash, chunk_count)
         SELECT $1, t.id, t.title, t.source, t.metadata, t.text, t.hash, 1
         FROM unnest($2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::text[])
              AS t(id, title, source, metadata, text, hash)`,
        [
          target.collectionId,
          batch.map((d) => d.id),
          batch.map((d) => d.title),
          batch.map((d) => d.source),
          batch.map((d) => JSON.stringify(d.metadata)),
          batch.map((d) => d.text),
          batch.map((d) => createHash('sha256').update(d.text).digest('hex')),
        ],
      );
      const added = await insertChunks(client, {
        tenantId: target.tenantId,
        collectionId: target.collectionId,
        chunks: batch.map((d) => ({
          documentId: d.id,
          ordinal: 0,
          heading: '',
          text: d.text,
          tokenCount: d.tokenCount,
          embedding: d.embedding,
          metadata: d.metadata,
        })),
      });
      await addCorpusStatistics(client, target.collectionId, added);
    });
    const ms = performance.now() - t0;
    times.push(ms);
    opts.onBatch?.(Math.min(from + size, docs.length), docs.length, ms);
  }
  return times;
}
