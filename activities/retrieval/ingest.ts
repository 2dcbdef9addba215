// Indexing one batch of an ingestion: read the staged documents, skip the unchanged ones,
// chunk and embed the rest, then — in one short transaction — replace each changed
// document's chunks, postings and corpus statistics and record the outcome per item.
//
// Idempotent under retries: outcomes are recorded on the staged items in the same
// transaction as the index writes, so a retried batch skips what it already did and
// reports the same totals.
import type { Db, DbClient } from '../../infra/db/pool.js';
import { inTransaction, toVectorParam } from '../../infra/db/pool.js';
import { chunkDocument, embeddingText, type Chunk, type ChunkerOptions } from './chunker.js';
import type { Embedder } from './embeddings.js';

export interface BatchRange {
  ingestionId: string;
  /** Item ordinals [from, to). */
  from: number;
  to: number;
}

export interface ItemError {
  ordinal: number;
  documentId: string;
  message: string;
}

export interface BatchOutcome {
  documents: number;
  indexed: number;
  unchanged: number;
  failed: number;
  chunks: number;
  errors: ItemError[];
  /** Time spent computing embeddings, reported apart from everything else. */
  embedMs: number;
  /** Time spent in the write transaction (index maintenance included). */
  writeMs: number;
  totalMs: number;
}

interface StagedItem {
  ordinal: number;
  document_id: string;
  title: string | null;
  source: string | null;
  metadata: Record<string, unknown>;
  text: string | null;
  content_hash: string;
  status: string;
}

interface PreparedDoc {
  item: StagedItem;
  chunks: Chunk[];
  embeddings: Float32Array[];
}

export async function indexBatch(
  deps: { db: Db; embedder: Embedder; chunking: ChunkerOptions; heartbeat?: (detail: unknown) => void },
  range: BatchRange,
): Promise<BatchOutcome> {
  const started = performance.now();
  const { db, embedder } = deps;
  const ingestion = await db.query<{ tenant_id: string; collection_id: number }>(
    'SELECT tenant_id, collection_id FROM ingestions WHERE id = $1',
    [range.ingestionId],
  );
  const owner = ingestion.rows[0];
  if (!owner) throw new Error(`ingestion ${range.ingestionId} not found`);

  const { rows: items } = await db.query<StagedItem>(
    `SELECT ordinal, document_id, title, source, metadata, text, content_hash, status
     FROM ingestion_items WHERE ingestion_id = $1 AND ordinal >= $2 AND ordinal < $3 ORDER BY ordinal`,
    [range.ingestionId, range.from, range.to],
  );
  const pending = items.filter((i) => i.status === 'pending');
  let embedMs = 0;
  let writeMs = 0;

  if (pending.length > 0) {
    const { rows: existing } = await db.query<{ id: string; content_hash: string }>(
      'SELECT id, content_hash FROM documents WHERE collection_id = $1 AND id = ANY($2::text[])',
      [owner.collection_id, pending.map((i) => i.document_id)],
    );
    const known = new Map(existing.map((d) => [d.id, d.content_hash]));
    const unchanged = pending.filter((i) => known.get(i.document_id) === i.content_hash);
    const changed = pending.filter((i) => known.get(i.document_id) !== i.content_hash);

    const prepared: PreparedDoc[] = [];
    const failures: Array<{ item: StagedItem; message: string }> = [];
    for (const item of changed) {
      try {
        if (!item.text?.trim()) throw new Error('document text is empty');
        const chunks = chunkDocument({ title: item.title ?? undefined, text: item.text }, deps.chunking);
        if (chunks.length === 0) throw new Error('document has no indexable text');
        prepared.push({ item, chunks, embeddings: [] });
      } catch (err) {
        failures.push({ item, message: err instanceof Error ? err.message : String(err) });
      }
    }

    // Embed all chunks of the batch together: the model is fastest on full batches.
    const texts = prepared.flatMap((p) => p.chunks.map(embeddingText));
    const t0 = performance.now();
    const vectors = texts.length ? await embedder.embed(texts, 'document') : [];
    embedMs = performance.now() - t0;
    deps.heartbeat?.({ embedded: vectors.length });
    let v = 0;
    for (const p of prepared) p.embeddings = p.chunks.map(() => vectors[v++]!);

    const t1 = performance.now();
    await inTransaction(db, (client) =>
      writeBatch(client, { ...owner, ingestionId: range.ingestionId, prepared, unchanged, failures }),
    );
    writeMs = performance.now() - t1;
  }

  const outcome = await summarize(db, range);
  return { ...outcome, embedMs, writeMs, totalMs: performance.now() - started };
}

async function writeBatch(
  client: DbClient,
  b: {
    tenant_id: string;
    collection_id: number;
    ingestionId: string;
    prepared: PreparedDoc[];
    unchanged: StagedItem[];
    failures: Array<{ item: StagedItem; message: string }>;
  },
): Promise<void> {
  // The collection row lock serialises index writers of one collection: corpus statistics
  // stay exact and term_stats upserts cannot deadlock.
  await client.query('SELECT 1 FROM collections WHERE id = $1 FOR UPDATE', [b.collection_id]);

  // Another ingestion may have indexed the same content while we were embedding.
  let prepared = b.prepared;
  const unchanged = [...b.unchanged];
  if (prepared.length) {
    const { rows } = await client.query<{ id: string; content_hash: string }>(
      'SELECT id, content_hash FROM documents WHERE collection_id = $1 AND id = ANY($2::text[])',
      [b.collection_id, prepared.map((p) => p.item.document_id)],
    );
    const now = new Map(rows.map((r) => [r.id, r.content_hash]));
    unchanged.push(...prepared.filter((p) => now.get(p.item.document_id) === p.item.content_hash).map((p) => p.item));
    prepared = prepared.filter((p) => now.get(p.item.document_id) !== p.item.content_hash);
  }

  if (prepared.length) {
    const docIds = prepared.map((p) => p.item.document_id);
    const removed = await client.query<{ chunks: number; terms: string }>(
      `WITH old AS (
         DELETE FROM chunks WHERE collection_id = $1 AND document_id = ANY($2::text[])
         RETURNING id, tsv, term_count
       ), gone AS (
         DELETE FROM chunk_terms p
         USING (SELECT old.id, u.lexeme FROM old, unnest(old.tsv) u) d
         WHERE p.collection_id = $1 AND p.term = d.lexeme AND p.chunk_id = d.id
         RETURNING p.term
       ), df AS (
         UPDATE term_stats s SET df = s.df - g.n
         FROM (SELECT term, count(*)::int AS n FROM gone GROUP BY term) g
         WHERE s.collection_id = $1 AND s.term = g.term
       )
       SELECT count(*)::int AS chunks, coalesce(sum(term_count), 0)::text AS terms FROM old`,
      [b.collection_id, docIds],
    );

    await client.query(
      `INSERT INTO documents (collection_id, id, title, source, metadata, text, content_hash, chunk_count)
       SELECT $1, t.id, t.title, t.source, t.metadata, t.text, t.hash, t.chunks
       FROM unnest($2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::text[], $8::int[])
            AS t(id, title, source, metadata, text, hash, chunks)
       ON CONFLICT (collection_id, id) DO UPDATE SET
         title = excluded.title, source = excluded.source, metadata = excluded.metadata, text = excluded.text,
         content_hash = excluded.content_hash, chunk_count = excluded.chunk_count,
         version = documents.version + 1, updated_at = now()`,
      [
        b.collection_id,
        docIds,
        prepared.map((p) => p.item.title),
        prepared.map((p) => p.item.source),
        prepared.map((p) => JSON.stringify(p.item.metadata ?? {})),
        prepared.map((p) => p.item.text),
        prepared.map((p) => p.item.content_hash),
        prepared.map((p) => p.chunks.length),
      ],
    );

    const added = await insertChunks(client, {
      tenantId: b.tenant_id,
      collectionId: b.collection_id,
      chunks: prepared.flatMap((p) =>
        p.chunks.map((c, i) => ({ ...c, documentId: p.item.document_id, embedding: p.embeddings[i]!, metadata: p.item.metadata ?? {} })),
      ),
    });
    await addCorpusStatistics(client, b.collection_id, {
      chunks: added.chunks - removed.rows[0]!.chunks,
      terms: added.terms - BigInt(removed.rows[0]!.terms),
    });
    await client.query('DELETE FROM term_stats WHERE collection_id = $1 AND df <= 0', [b.collection_id]);
  }

  // Record every item's outcome and drop its bulk text: the index now holds it.
  const outcomes = [
    ...prepared.map((p) => ({ ordinal: p.item.ordinal, status: 'indexed', chunks: p.chunks.length, error: null as string | null })),
    ...unchanged.map((i) => ({ ordinal: i.ordinal, status: 'unchanged', chunks: 0, error: null })),
    ...b.failures.map((f) => ({ ordinal: f.item.ordinal, status: 'failed', chunks: 0, error: f.message })),
  ];
  await client.query(
    `UPDATE ingestion_items i SET status = o.status, chunk_count = o.chunks, error = o.error, text = NULL
     FROM unnest($2::int[], $3::text[], $4::int[], $5::text[]) AS o(ordinal, status, chunks, error)
     WHERE i.ingestion_id = $1 AND i.ordinal = o.ordinal`,
    [b.ingestionId, outcomes.map((o) => o.ordinal), outcomes.map((o) => o.status), outcomes.map((o) => o.chunks), outcomes.map((o) => o.error)],
  );
}

async function summarize(db: Db, range: BatchRange): Promise<Omit<BatchOutcome, 'embedMs' | 'writeMs' | 'totalMs'>> {
  const { rows } = await db.query<{ ordinal: number; document_id: string; status: string; chunk_count: number; error: string | null }>(
    `SELECT ordinal, document_id, status, chunk_count, error FROM ingestion_items
     WHERE ingestion_id = $1 AND ordinal >= $2 AND ordinal < $3`,
    [range.ingestionId, range.from, range.to],
  );
  const count = (s: string) => rows.filter((r) => r.status === s).length;
  return {
    documents: rows.length,
    indexed: count('indexed'),
    unchanged: count('unchanged'),
    failed: count('failed'),
    chunks: rows.reduce((n, r) => n + r.chunk_count, 0),
    errors: rows
      .filter((r) => r.status === 'failed')
      .map((r) => ({ ordinal: r.ordinal, documentId: r.document_id, message: r.error ?? 'failed' })),
  };
}

export interface ChunkRow {
  documentId: string;
  ordinal: number;
  heading: string;
  text: string;
  tokenCount: number;
  embedding: ArrayLike<number>;
  metadata: Record<string, unknown>;
}

/**
 * Insert chunks with everything BM25 needs, in one statement: the tsvector and its length,
 * one posting per lexeme (with tf and the chunk's length), and the document frequencies.
 * The caller holds the collection's row lock and updates its corpus statistics.
 */
export async function insertChunks(
  client: DbClient,
  target: { tenantId: string; collectionId: number; chunks: ChunkRow[] },
): Promise<{ chunks: number; terms: bigint }> {
  const rows = target.chunks;
  const { rows: result } = await client.query<{ chunks: number; terms: string }>(
    `WITH input AS (
       SELECT * FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8::text[], $9::jsonb[])
         AS t(document_id, ordinal, heading, text, token_count, embedding, metadata)
     ), analysed AS (
       SELECT input.*, to_tsvector('english', input.heading || E'\\n' || input.text) AS tsv FROM input
     ), ins AS (
       INSERT INTO chunks (tenant_id, collection_id, document_id, ordinal, heading, text, token_count, term_count, tsv, embedding, metadata)
       SELECT $1, $2, a.document_id, a.ordinal, a.heading, a.text, a.token_count,
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
      rows.map((r) => r.documentId),
      rows.map((r) => r.ordinal),
      rows.map((r) => r.heading),
      rows.map((r) => r.text),
      rows.map((r) => r.tokenCount),
      rows.map((r) => toVectorParam(r.embedding)),
      rows.map((r) => JSON.stringify(r.metadata)),
    ],
  );
  return { chunks: result[0]!.chunks, terms: BigInt(result[0]!.terms) };
}

/**
 * N and the total length for BM25's IDF and length normalisation, kept exact by every writer;
 * and the corpus version, moved on by every change, which cached retrieval results are keyed by.
 */
export async function addCorpusStatistics(client: DbClient, collectionId: number, delta: { chunks: number; terms: bigint }): Promise<void> {
  await client.query('UPDATE collections SET chunk_count = chunk_count + $2, total_terms = total_terms + $3::bigint, corpus_version = corpus_version + 1 WHERE id = $1', [
    collectionId,
    delta.chunks,
    delta.terms.toString(),
  ]);
  // Answers drawn from the earlier version are never found again (the version is part of their
  // address); deleting them now frees the tenant's cache budget at once.
  await client.query(
    `DELETE FROM semantic_cache_entries s USING collections c
     WHERE c.id = $1 AND s.tenant_id = c.tenant_id AND s.collection = c.name AND s.corpus_version < c.corpus_version`,
    [collectionId],
  );
}

export interface IngestionSummary {
  documents: number;
  indexed: number;
  unchanged: number;
  failed: number;
  chunks: number;
  errors: Array<{ ordinal: number; documentId: string; message: string }>;
}

/**
 * Close an ingestion: refresh the tables' visibility map and planner statistics (BM25's
 * index-only scans need the first, PGlite has no autovacuum to keep it), then report the
 * totals with per-document errors (first 100).
 */
export async function closeIngestion(db: Db, ingestionId: string): Promise<IngestionSummary> {
  await db.query('VACUUM (ANALYZE) chunks, chunk_terms, term_stats');
  const { rows } = await db.query<{ status: string; n: number; chunks: string }>(
    `SELECT status, count(*)::int AS n, coalesce(sum(chunk_count), 0)::text AS chunks
     FROM ingestion_items WHERE ingestion_id = $1 GROUP BY status`,
    [ingestionId],
  );
  const errors = await db.query<{ ordinal: number; document_id: string; error: string }>(
    `SELECT ordinal, document_id, error FROM ingestion_items
     WHERE ingestion_id = $1 AND status = 'failed' ORDER BY ordinal LIMIT 100`,
    [ingestionId],
  );
  const count = (s: string) => rows.find((r) => r.status === s)?.n ?? 0;
  return {
    documents: rows.reduce((n, r) => n + r.n, 0),
    indexed: count('indexed'),
    unchanged: count('unchanged'),
    failed: count('failed'),
    chunks: rows.reduce((n, r) => n + Number(r.chunks), 0),
    errors: errors.rows.map((e) => ({ ordinal: e.ordinal, documentId: e.document_id, message: e.error })),
  };
}
