// Storage and retrieval against real Postgres with pgvector — the embedded PGlite and a
// native server — with the same migrations and the same SQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCollectionId, loadPassages, retrieveHybrid, searchBm25, searchVector, BM25 } from '../../activities/retrieval/search.js';
import type { Services } from '../../infra/services.js';
import { indexDocuments } from '../support/corpus.js';
import { testServices, uniqueId, type DbKind } from '../support/harness.js';

const docs = [
  { id: 'jam', title: 'Paper jams', text: '# Paper jams\n\nAn E-102 jam sits behind the rear access door. Open the rear access door and pull the sheet out slowly.' },
  { id: 'toner', title: 'Toner', text: '# Toner\n\nReplace the TN-220 toner cartridge when the printer shows W-310. Toner toner toner: shake the cartridge before use.' },
  { id: 'wifi', title: 'Wi-Fi', text: '# Wi-Fi setup\n\nThe printer joins 2.4 GHz networks. Press the Wi-Fi button and choose your network on the touchscreen.' },
  { id: 'refund', title: 'Refunds', text: '# Refunds\n\nRefunds over $500 need a manager\'s approval. Returns within 30 days get a full refund minus a 15% restocking fee.' },
];

describe.each<DbKind>(['pglite', 'native'])('retrieval on %s', (kind) => {
  let services: Services;
  let tenant: string;
  let collectionId: number;

  beforeAll(async () => {
    services = await testServices(kind);
    tenant = uniqueId('t');
    const outcome = await indexDocuments(services, { tenantId: tenant, collection: 'docs', documents: docs });
    expect(outcome).toMatchObject({ documents: 4, indexed: 4, unchanged: 0, failed: 0 });
    collectionId = (await findCollectionId(services.db, tenant, 'docs'))!;
  });
  afterAll(() => services.close());

  async function expectStatisticsConsistent(id: number) {
    // term_stats.df and the collection's N / total length must equal a recount from the chunks.
    const { rows: drift } = await services.db.query(
      `WITH recount AS (
         SELECT u.lexeme AS term, count(*)::int AS df FROM chunks c, unnest(c.tsv) u WHERE c.collection_id = $1 GROUP BY u.lexeme
       )
       SELECT coalesce(r.term, s.term) AS term, r.df AS expected, s.df AS stored
       FROM recount r FULL JOIN (SELECT term, df FROM term_stats WHERE collection_id = $1) s ON s.term = r.term
       WHERE r.df IS DISTINCT FROM s.df`,
      [id],
    );
    expect(drift).toEqual([]);
    const { rows } = await services.db.query(
      `SELECT c.chunk_count::int AS n, c.total_terms::int AS total,
              (SELECT count(*)::int FROM chunks WHERE collection_id = $1) AS recount_n,
              (SELECT coalesce(sum(term_count), 0)::int FROM chunks WHERE collection_id = $1) AS recount_total,
              (SELECT count(*)::int FROM chunk_terms WHERE collection_id = $1) AS postings,
              (SELECT count(*)::int FROM chunks c2, unnest(c2.tsv) WHERE c2.collection_id = $1) AS expected_postings
       FROM collections c WHERE c.id = $1`,
      [id],
    );
    expect(rows[0].n).toBe(rows[0].recount_n);
    expect(rows[0].total).toBe(rows[0].recount_total);
    expect(rows[0].postings).toBe(rows[0].expected_postings);
  }

  it('stores documents, chunks with tsvector and embedding, and exact corpus statistics', async () => {
    const { rows } = await services.db.query(
      `SELECT d.id, d.version, d.chunk_count, count(c.id)::int AS chunks, bool_and(c.tenant_id = $2) AS scoped,
              bool_and(vector_dims(c.embedding) = 384) AS dims, bool_and(length(c.tsv) > 0) AS analysed
       FROM documents d JOIN chunks c ON c.collection_id = d.collection_id AND c.document_id = d.id
       WHERE d.collection_id = $1 GROUP BY d.id, d.version, d.chunk_count ORDER BY d.id`,
      [collectionId, tenant],
    );
    expect(rows.map((r) => r.id)).toEqual(['jam', 'refund', 'toner', 'wifi']);
    for (const r of rows) expect(r).toMatchObject({ version: 1, scoped: true, dims: true, analysed: true, chunks: r.chunk_count });
    await expectStatisticsConsistent(collectionId);
  });

  it('re-ingesting the same documents changes nothing', async () => {
    const before = await services.db.query('SELECT id FROM chunks WHERE collection_id = $1 ORDER BY id', [collectionId]);
    const outcome = await indexDocuments(services, { tenantId: tenant, collection: 'docs', documents: docs });
    expect(outcome).toMatchObject({ indexed: 0, unchanged: 4, chunks: 0 });
    const after = await services.db.query('SELECT id FROM chunks WHERE collection_id = $1 ORDER BY id', [collectionId]);
    expect(after.rows).toEqual(before.rows);
  });

  it('a changed document replaces its chunks and keeps the statistics exact', async () => {
    const col = uniqueId('c');
    await indexDocuments(services, { tenantId: tenant, collection: col, documents: docs });
    const id = (await findCollectionId(services.db, tenant, col))!;
    const old = await services.db.query(`SELECT id FROM chunks WHERE collection_id = $1 AND document_id = 'wifi'`, [id]);
    const changed = { id: 'wifi', title: 'Wi-Fi', text: '# Wi-Fi setup\n\nThe printer now also joins 5 GHz networks via the ethernet bridge.' };
    const outcome = await indexDocuments(services, { tenantId: tenant, collection: col, documents: [changed] });
    expect(outcome).toMatchObject({ indexed: 1, unchanged: 0 });
    const { rows } = await services.db.query(
      `SELECT d.version, array_agg(c.id::text) AS ids, string_agg(c.text, ' ') AS text FROM documents d
       JOIN chunks c ON c.collection_id = d.collection_id AND c.document_id = d.id
       WHERE d.collection_id = $1 AND d.id = 'wifi' GROUP BY d.version`,
      [id],
    );
    expect(rows[0].version).toBe(2);
    expect(rows[0].text).toContain('5 GHz');
    expect(rows[0].ids.some((x: string) => old.rows.some((o) => o.id === x))).toBe(false);
    await expectStatisticsConsistent(id);
    const hits = await searchBm25(services.db, { collectionId: id, query: 'touchscreen', limit: 5 });
    expect(hits).toEqual([]); // "touchscreen" left with the old version
  });

  it('scores BM25 exactly: IDF from document frequency, length-normalised term frequency', async () => {
    const query = 'toner cartridge rear door';
    const hits = await searchBm25(services.db, { collectionId, query, limit: 10 });
    // Recompute from the stored lexemes with the textbook formula.
    const { rows: terms } = await services.db.query<{ lexeme: string }>(`SELECT DISTINCT lexeme FROM unnest(to_tsvector('english', $1))`, [query]);
    const { rows: postings } = await services.db.query<{ id: string; lexeme: string; tf: number; dl: number }>(
      `SELECT c.id::text, u.lexeme, array_length(u.positions, 1) AS tf, c.term_count AS dl
       FROM chunks c, unnest(c.tsv) u WHERE c.collection_id = $1`,
      [collectionId],
    );
    const chunkIds = [...new Set(postings.map((p) => p.id))];
    const dl = new Map(postings.map((p) => [p.id, p.dl]));
    const n = chunkIds.length;
    const avgdl = [...dl.values()].reduce((a, b) => a + b, 0) / n;
    const expected = chunkIds
      .map((id) => {
        let score = 0;
        for (const { lexeme } of terms) {
          const df = new Set(postings.filter((p) => p.lexeme === lexeme).map((p) => p.id)).size;
          const tf = postings.find((p) => p.id === id && p.lexeme === lexeme)?.tf ?? 0;
          if (!tf) continue;
          const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
          score += (idf * tf * (BM25.k1 + 1)) / (tf + BM25.k1 * (1 - BM25.b + (BM25.b * dl.get(id)!) / avgdl));
        }
        return { id, score };
      })
      .filter((e) => e.score > 0)
      .sort((a, b) => b.score - a.score);
    expect(hits.map((h) => h.id)).toEqual(expected.map((e) => e.id));
    hits.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i]!.score, 9));
    // The toner chunk says "toner" five times: BM25 saturates it rather than letting it win on count alone.
    const passages = await loadPassages(services.db, tenant, [hits[0]!.id]);
    expect(['toner', 'jam']).toContain(passages.get(hits[0]!.id)!.documentId);
  });

  it('finds nearest chunks through HNSW, matching an exact scan', async () => {
    const col = uniqueId('vec');
    const many = Array.from({ length: 240 }, (_, i) => ({
      id: `d${i}`,
      text: `Record ${i} about ${['printers', 'toner', 'refunds', 'shipping', 'wifi', 'warranty'][i % 6]} and item ${i % 17} in batch ${i % 5}.`,
      metadata: { lang: i % 20 === 0 ? 'de' : 'en', batch: i % 5 },
    }));
    await indexDocuments(services, { tenantId: tenant, collection: col, documents: many, batchSize: 80 });
    const id = (await findCollectionId(services.db, tenant, col))!;
    const [q] = await services.embedder.embed(['refunds item 3 batch 1'], 'query');
    const approx = await searchVector(services.db, services.caps, { collectionId: id, embedding: q!, limit: 10, efSearch: 100 });
    const exact = await searchVector(services.db, services.caps, { collectionId: id, embedding: q!, limit: 10, efSearch: 100, exact: true });
    expect(exact).toHaveLength(10);
    // Recall with ties counted fairly: a hit is anything at least as close as the 10th exact neighbour.
    const recall = approx.filter((a) => a.score >= exact[9]!.score - 1e-6).length / 10;
    expect(recall).toBeGreaterThanOrEqual(0.9);
    for (let i = 1; i < approx.length; i++) expect(approx[i - 1]!.score).toBeGreaterThanOrEqual(approx[i]!.score);

    // A selective metadata filter (12 of 240 chunks) still yields k rows: an iterative scan on
    // pgvector ≥ 0.8, an exact fallback where that is missing.
    for (const caps of [services.caps, { ...services.caps, iterativeScan: false }]) {
      const filtered = await searchVector(services.db, caps, { collectionId: id, embedding: q!, limit: 10, efSearch: 10, filter: { lang: 'de' } });
      expect(filtered).toHaveLength(10);
      const meta = await loadPassages(services.db, tenant, filtered.map((f) => f.id));
      for (const p of meta.values()) expect(p.metadata.lang).toBe('de');
    }
  });

  it('hybrid ensemble fuses both rankings; sequential reranks term candidates by similarity', async () => {
    const base = { tenantId: tenant, collection: 'docs', topK: 3, candidates: 10, rrfK: 60, efSearch: 40 };
    const ensemble = await retrieveHybrid(services, { ...base, query: 'rear access door jam', mode: 'ensemble' });
    expect(ensemble.passages[0]!.documentId).toBe('jam');
    expect(ensemble.passages[0]!.ranks).toMatchObject({ bm25: 1 });
    expect(ensemble.passages[0]!.ranks.vector).toBeGreaterThanOrEqual(1);

    const sequential = await retrieveHybrid(services, { ...base, query: 'refund restocking fee approval', mode: 'sequential' });
    const bm25 = await searchBm25(services.db, { collectionId, query: 'refund restocking fee approval', limit: 10 });
    for (const p of sequential.passages) expect(bm25.map((b) => b.id)).toContain(p.chunkId);
    expect(sequential.passages[0]!.documentId).toBe('refund');
    for (let i = 1; i < sequential.passages.length; i++) {
      expect(sequential.passages[i - 1]!.score).toBeGreaterThanOrEqual(sequential.passages[i]!.score);
    }

    // No term in common: sequential mode says it fell back to vector search.
    const none = await retrieveHybrid(services, { ...base, query: 'zzzqqq', mode: 'sequential' });
    expect(none.fallback).toBe('vector');
  });

  it('filters by metadata in term search too', async () => {
    const col = uniqueId('meta');
    await indexDocuments(services, {
      tenantId: tenant,
      collection: col,
      documents: [
        { id: 'a', text: 'Printer manual for the office model.', metadata: { region: 'eu' } },
        { id: 'b', text: 'Printer manual for the home model.', metadata: { region: 'us' } },
      ],
    });
    const id = (await findCollectionId(services.db, tenant, col))!;
    const hits = await searchBm25(services.db, { collectionId: id, query: 'printer manual', limit: 5, filter: { region: 'us' } });
    const passages = await loadPassages(services.db, tenant, hits.map((h) => h.id));
    expect([...passages.values()].map((p) => p.documentId)).toEqual(['b']);
  });

  it('keeps tenants apart, even with the same collection name', async () => {
    const other = uniqueId('t');
    await indexDocuments(services, { tenantId: other, collection: 'docs', documents: [{ id: 'secret', text: 'Rear access door codes for the other tenant.' }] });
    const mine = await retrieveHybrid(services, { tenantId: tenant, collection: 'docs', query: 'rear access door codes', mode: 'ensemble', topK: 10, candidates: 20, rrfK: 60, efSearch: 40 });
    expect(mine.passages.map((p) => p.documentId)).not.toContain('secret');
    const theirs = await retrieveHybrid(services, { tenantId: other, collection: 'docs', query: 'rear access door codes', mode: 'ensemble', topK: 10, candidates: 20, rrfK: 60, efSearch: 40 });
    expect(theirs.passages.map((p) => p.documentId)).toEqual(['secret']);
    // Chunk ids of another tenant load nothing.
    expect((await loadPassages(services.db, tenant, theirs.passages.map((p) => p.chunkId))).size).toBe(0);
    // An unknown collection is simply empty.
    const empty = await retrieveHybrid(services, { tenantId: tenant, collection: 'nope', query: 'door', mode: 'ensemble', topK: 3, candidates: 5, rrfK: 60, efSearch: 40 });
    expect(empty.passages).toEqual([]);
  });
});
