// (a) Ingestion throughput: chunks/s through the product's indexing path (stage → chunk →
// replace chunks, postings, term statistics, HNSW) with embedding time reported apart, into
// native Postgres and PGlite. Baseline, side by side: a bare bulk insert of the same chunk
// rows (same table and indexes, no BM25 postings or statistics). Target: ≥ 5,000 chunks/s
// into native Postgres, embedding excluded.
import { chunkDocument, embeddingText } from '../activities/retrieval/chunker.js';
import { createEmbedder } from '../activities/retrieval/embeddings.js';
import { indexBatch } from '../activities/retrieval/ingest.js';
import { stageDocuments } from '../api/staging.js';
import { loadConfig } from '../infra/config.js';
import { toVectorParam } from '../infra/db/pool.js';
import { startBenchDatabase, type BenchDatabase } from './lib/databases.js';
import { cachedEmbeddings, PrecomputedEmbedder } from './lib/embedding-cache.js';
import { fmt, table } from './lib/stats.js';
import type { Bench } from './lib/bench.js';
import { loadSotuPassages } from './sotu/corpus.js';

const BATCH_DOCUMENTS = 200;

export const run: Bench = async (ctx) => {
  const config = loadConfig({});
  const model = await createEmbedder(config.embedding, ctx.log);
  // The State of the Union addresses 1945–2021 (the same chunks as benchmark (d), so their
  // embeddings are computed once), cut into passages and then into chunks.
  const documents = loadSotuPassages().map((p) => ({ id: p.id, title: p.title, text: p.text }));
  const chunked = documents.map((d) => chunkDocument(d, config.chunking));
  const texts = chunked.flatMap((cs) => cs.map(embeddingText));
  ctx.log(`${documents.length} documents → ${texts.length} chunks`);

  // The embedder on its own, measured fresh on a sample (the full set is cached for the runs below).
  const sample = texts.slice(0, 512);
  const t0 = performance.now();
  await model.embed(sample, 'document');
  const embedPerSecond = sample.length / ((performance.now() - t0) / 1000);
  const { vectors } = await cachedEmbeddings('sotu-chunks', texts, model, (done, total) => ctx.log(`embedding ${done}/${total}`));
  const embedder = new PrecomputedEmbedder(model, texts, vectors);

  const results = [];
  for (const kind of ['native', 'pglite'] as const) {
    ctx.log(`${kind}: indexing`);
    const database = await startBenchDatabase(kind, embedder);
    try {
      const product = await productPath(database, embedder, documents, config.chunking);
      const floor = await bareInsert(database, chunked, vectors, 'floor');
      // The same bare insert once more without the HNSW index: how much of the floor is HNSW.
      await database.db.query('DROP INDEX chunks_embedding_idx');
      const noHnsw = await bareInsert(database, chunked, vectors, 'floor-no-hnsw');
      results.push({ kind, label: database.label, product, floor, noHnsw });
      ctx.log(`${kind}: ${fmt(product.chunksPerSecond, 0)} chunks/s (floor ${fmt(floor.chunksPerSecond, 0)})`);
    } finally {
      await database.stop();
    }
  }
  await model.close?.();

  const native = results.find((r) => r.kind === 'native')!;
  const markdown = [
    `${documents.length} passages of the State of the Union addresses 1945–2021, ${texts.length} chunks at ${config.chunking.maxTokens} tokens. ` +
      `**Product path**: the ingestion activity's own code (\`indexBatch\`: read staged documents, compare hashes, chunk, and in one transaction per ${BATCH_DOCUMENTS}-document batch ` +
      `write documents, chunks with tsvector and vector (GIN + HNSW maintained), BM25 postings and term statistics); embeddings come precomputed so the clock sees everything but the model. ` +
      `**Floor**: the same chunk rows bulk-inserted into the same table with the same indexes, without postings or statistics. Both start from an empty database.`,
    '',
    table(
      ['database', 'product path (chunks/s)', 'floor: bare insert (chunks/s)', 'product / floor', 'bare insert without HNSW (chunks/s)', 'write transaction share'],
      results.map((r) => [
        r.label,
        fmt(r.product.chunksPerSecond, 0),
        fmt(r.floor.chunksPerSecond, 0),
        fmt(r.product.chunksPerSecond / r.floor.chunksPerSecond, 2),
        fmt(r.noHnsw.chunksPerSecond, 0),
        `${fmt((r.product.writeMs / r.product.totalMs) * 100, 0)} %`,
      ]),
    ),
    '',
    `Embedding alone (${model.description}, fresh, 2 cores): **${fmt(embedPerSecond, 1)} chunks/s** — with the local model, embedding and not storage bounds real ingestion.`,
    '',
    `**Target — ≥ 5,000 chunks/s into native Postgres, embedding excluded:** ${fmt(native.product.chunksPerSecond, 0)} chunks/s → ` +
      (native.product.chunksPerSecond >= 5000
        ? 'met.'
        : `missed by ${fmt(5000 - native.product.chunksPerSecond, 0)} chunks/s (${fmt((native.product.chunksPerSecond / 5000) * 100, 0)} % of target). ` +
          `The floor — the same rows with no BM25 bookkeeping at all — reaches ${fmt(native.floor.chunksPerSecond, 0)} chunks/s on this machine, so ` +
          `${native.floor.chunksPerSecond < 5000 ? 'the index maintenance every chunk needs already holds even a bare insert below the target on 2 cores' : 'the gap is our BM25 postings and statistics'}: ` +
          `without the HNSW index the bare insert reaches ${fmt(native.noHnsw.chunksPerSecond, 0)} chunks/s, so inserting each 384-dimension vector into the graph costs ` +
          `${fmt(1000 / native.floor.chunksPerSecond - 1000 / native.noHnsw.chunksPerSecond, 2)} ms per chunk; the BM25 postings (one row per distinct lexeme, ~100 per chunk) and statistics cost the rest of the gap to the floor. ` +
          `The write transaction is ${fmt((native.product.writeMs / native.product.totalMs) * 100, 0)} % of the product path; the other part is reading, hashing and chunking.`),
    '',
    'Ways to go faster that this run does not take: build HNSW after a bulk first load (pgvector recommends it; not possible for a live index), more parallel writers (one collection\'s writes are serialised by its row lock, which keeps BM25 statistics exact), and a larger machine.',
  ].join('\n');
  return { title: '(a) Ingestion throughput', markdown, data: { documents: documents.length, chunks: texts.length, embedPerSecond, results } };
};

async function productPath(
  database: BenchDatabase,
  embedder: PrecomputedEmbedder,
  documents: Array<{ id: string; title: string; text: string }>,
  chunking: { maxTokens: number; overlapTokens: number },
) {
  await database.db.query(`INSERT INTO tenants (id, name) VALUES ('bench', 'bench') ON CONFLICT DO NOTHING`);
  const ingestionId = 'bench-ingest';
  await stageDocuments(database.db, ingestionId, 'bench', { collection: 'sotu', documents });
  let chunks = 0;
  let writeMs = 0;
  const t0 = performance.now();
  for (let from = 0; from < documents.length; from += BATCH_DOCUMENTS) {
    const outcome = await indexBatch({ db: database.db, embedder, chunking }, { ingestionId, from, to: Math.min(from + BATCH_DOCUMENTS, documents.length) });
    chunks += outcome.chunks;
    writeMs += outcome.writeMs;
  }
  const totalMs = performance.now() - t0;
  return { chunks, totalMs, writeMs, chunksPerSecond: chunks / (totalMs / 1000) };
}

/** The same chunk rows, bulk-inserted with nothing but the table's own indexes. */
async function bareInsert(
  database: BenchDatabase,
  chunked: Array<Array<{ ordinal: number; heading: string; text: string; tokenCount: number }>>,
  vectors: Float32Array[],
  name: string,
) {
  const { db } = database;
  const { rows } = await db.query<{ id: number }>(`INSERT INTO collections (tenant_id, name) VALUES ('bench', $1) RETURNING id`, [name]);
  const collectionId = rows[0]!.id;
  const flat = chunked.flatMap((cs, d) => cs.map((c) => ({ doc: `${name}-${d}`, c })));
  // Documents first (the foreign key), untimed: the product path's document writes are timed, so this favours the floor.
  const docIds = [...new Set(flat.map((f) => f.doc))];
  await db.query(`INSERT INTO documents (collection_id, id, text, content_hash) SELECT $1, id, '', '' FROM unnest($2::text[]) AS id`, [collectionId, docIds]);
  const t0 = performance.now();
  const size = 2_000;
  for (let i = 0; i < flat.length; i += size) {
    const slice = flat.slice(i, i + size);
    await db.query(
      `INSERT INTO chunks (tenant_id, collection_id, document_id, ordinal, heading, text, token_count, term_count, tsv, embedding)
       SELECT 'bench', $1, t.doc, t.ordinal, t.heading, t.text, t.tokens, 0, to_tsvector('english', t.heading || E'\\n' || t.text), t.embedding::vector
       FROM unnest($2::text[], $3::int[], $4::text[], $5::text[], $6::int[], $7::text[]) AS t(doc, ordinal, heading, text, tokens, embedding)`,
      [
        collectionId,
        slice.map((f) => f.doc),
        slice.map((f) => f.c.ordinal),
        slice.map((f) => f.c.heading),
        slice.map((f) => f.c.text),
        slice.map((f) => f.c.tokenCount),
        slice.map((_, j) => toVectorParam(vectors[i + j]!)),
      ],
    );
  }
  const totalMs = performance.now() - t0;
  return { chunks: flat.length, totalMs, chunksPerSecond: flat.length / (totalMs / 1000) };
}
