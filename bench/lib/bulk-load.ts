// Bulk loading of pre-embedded, single-chunk documents for storage benchmarks. Writes the
// same rows ingestion does (activities/retrieval/ingest.ts: documents, chunks with tsv and
// term_count, chunk_terms postings, term_stats, the collection's chunk_count/total_terms),
// with the same SQL shape, but skips staging, chunking and embedding: the vectors exist.
import { createHash } from 'node:crypto';
import { inTransaction, toVectorParam, type Db } from '../../infra/db/pool.js';

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
      const added = await client.query<{ chunks: number; terms: string }>(
        `WITH input AS (
           SELECT * FROM unnest($3::text[], $4::text[], $5::int[], $6::text[], $7::jsonb[])
             AS t(document_id, text, token_count, embedding, metadata)
         ), analysed AS (
           SELECT input.*, to_tsvector('english', input.text) AS tsv FROM input
         ), ins AS (
           INSERT INTO chunks (tenant_id, collection_id, document_id, ordinal, heading, text, token_count, term_count, tsv, embedding, metadata)
           SELECT $1, $2, a.document_id, 0, '', a.text, a.token_count,
                  (SELECT coalesce(sum(array_length(u.positions, 1)), 0) FROM unnest(a.tsv) u),
                  a.tsv, a.embedding::vector, a.metadata
           FROM analysed a
           RETURNING id, tsv, term_count
         ), postings AS (
           INSERT INTO chunk_terms (collection_id, term, chunk_id, tf, dl)
           SELECT $2, u.lexeme, ins.id, coalesce(array_length(u.positions, 1), 1), ins.term_count
           FROM ins, unnest(ins.tsv) u
           RETURNING term
         ), df AS (
           INSERT INTO term_stats (collection_id, term, df)
           SELECT $2, term, count(*)::int FROM postings GROUP BY term ORDER BY term
           ON CONFLICT (collection_id, term) DO UPDATE SET df = term_stats.df + excluded.df
         )
         SELECT count(*)::int AS chunks, coalesce(sum(term_count), 0)::text AS terms FROM ins`,
        [
          target.tenantId,
          target.collectionId,
          batch.map((d) => d.id),
          batch.map((d) => d.text),
          batch.map((d) => d.tokenCount),
          batch.map((d) => toVectorParam(d.embedding)),
          batch.map((d) => JSON.stringify(d.metadata)),
        ],
      );
      await client.query('UPDATE collections SET chunk_count = chunk_count + $2, total_terms = total_terms + $3::bigint WHERE id = $1', [
        target.collectionId,
        added.rows[0]!.chunks,
        added.rows[0]!.terms,
      ]);
    });
    const ms = performance.now() - t0;
    times.push(ms);
    opts.onBatch?.(Math.min(from + size, docs.length), docs.length, ms);
  }
  return times;
}
