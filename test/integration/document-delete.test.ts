// Deleting documents against real Postgres with pgvector — the embedded PGlite and a native
// server: the index afterwards is the one a collection ingested without the document has (chunk
// count, total length, postings, document frequencies, BM25 scores), the corpus version moves on
// so a cached retrieval result from before is not served, and only the tenant's own collection is
// ever touched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExactCache } from '../../activities/cache/exact.js';
import { createRetrievalActivities } from '../../activities/retrieval/activities.js';
import { deleteDocuments } from '../../activities/retrieval/delete-documents.js';
import { findCollectionId, loadPassages, retrieveHybrid, searchBm25 } from '../../activities/retrieval/search.js';
import type { Services } from '../../infra/services.js';
import { indexDocuments, type TestDocument } from '../support/corpus.js';
import { allLayers, testConfig, testServices, uniqueId, type DbKind } from '../support/harness.js';

const longText = Array.from(
  { length: 12 },
  (_, i) => `## Step ${i + 1}\n\nOpen tray ${i + 1}, check the toner seal and the fuser roller, then close the printer cover. Section ${i + 1} of the maintenance guide.`,
).join('\n\n');

// "toner" is shared with the maintenance guide; "TN-220", "W-310" and "shake" are the toner page's alone.
const docs: TestDocument[] = [
  { id: 'jam', title: 'Paper jams', text: '# Paper jams\n\nAn E-102 jam sits behind the rear access door. Open the rear access door and pull the sheet out slowly.' },
  { id: 'toner', title: 'Toner', text: '# Toner\n\nReplace the TN-220 toner cartridge when the printer shows W-310. Toner toner toner: shake the cartridge before use.' },
  { id: 'wifi', title: 'Wi-Fi', text: '# Wi-Fi setup\n\nThe printer joins 2.4 GHz networks. Press the Wi-Fi button and choose your network on the touchscreen.' },
  { id: 'maintenance', title: 'Maintenance', text: longText },
];
const chunking = { maxTokens: 60, overlapTokens: 10 };
const retrieval = { mode: 'ensemble' as const, topK: 10, candidates: 20, rrfK: 60, efSearch: 40 };

describe.each<DbKind>(['pglite', 'native'])('deleting documents on %s', (kind) => {
  let services: Services;
  const tenant = uniqueId('acme');
  const other = uniqueId('globex');

  beforeAll(async () => {
    services = await testServices(kind);
  });
  afterAll(() => services?.close());

  async function collectionOf(tenantId: string, name: string) {
    const id = (await findCollectionId(services.db, tenantId, name))!;
    const { rows } = await services.db.query<{ chunk_count: string; total_terms: string; corpus_version: string }>(
      'SELECT chunk_count::text, total_terms::text, corpus_version::text FROM collections WHERE id = $1',
      [id],
    );
    return { id, chunkCount: Number(rows[0]!.chunk_count), totalTerms: Number(rows[0]!.total_terms), corpusVersion: Number(rows[0]!.corpus_version) };
  }

  /** What BM25 reads of a collection, without its ids: equal for equal corpora. */
  async function bm25Index(collectionId: number) {
    const terms = await services.db.query('SELECT term, df FROM term_stats WHERE collection_id = $1 ORDER BY term', [collectionId]);
    const postings = await services.db.query('SELECT term, tf, dl FROM chunk_terms WHERE collection_id = $1 ORDER BY term, tf, dl', [collectionId]);
    const chunks = await services.db.query('SELECT document_id, ordinal, term_count FROM chunks WHERE collection_id = $1 ORDER BY document_id, ordinal', [collectionId]);
    return { terms: terms.rows, postings: postings.rows, chunks: chunks.rows };
  }

  async function bm25Scores(tenantId: string, collectionId: number, query: string) {
    const hits = await searchBm25(services.db, { collectionId, query, limit: 50 });
    const passages = await loadPassages(services.db, tenantId, hits.map((h) => h.id));
    return hits.map((h) => ({ documentId: passages.get(h.id)!.documentId, text: passages.get(h.id)!.text, score: h.score }));
  }

  it('leaves exactly the index of a collection ingested without the document', async () => {
    const full = uniqueId('full');
    const without = uniqueId('without');
    await indexDocuments(services, { tenantId: tenant, collection: full, documents: docs, chunking });
    await indexDocuments(services, { tenantId: tenant, collection: without, documents: docs.filter((d) => d.id !== 'toner'), chunking });
    const before = await collectionOf(tenant, full);
    const tonerChunks = await services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM chunks WHERE collection_id = $1 AND document_id = 'toner'`, [before.id]);

    const deleted = await deleteDocuments(services.db, { tenantId: tenant, collection: full, documentIds: ['toner', 'not-there'] });
    expect(deleted).toEqual({ documentIds: ['toner'], chunks: tonerChunks.rows[0]!.n });
    expect(deleted!.chunks).toBeGreaterThan(0);

    const after = await collectionOf(tenant, full);
    const reference = await collectionOf(tenant, without);
    expect({ chunkCount: after.chunkCount, totalTerms: after.totalTerms }).toEqual({ chunkCount: reference.chunkCount, totalTerms: reference.totalTerms });
    expect(after.corpusVersion).toBeGreaterThan(before.corpusVersion);
    expect(await bm25Index(after.id)).toEqual(await bm25Index(reference.id));

    // The toner page's own terms are gone from term_stats (df 0 rows dropped); shared ones counted down.
    const { rows: left } = await services.db.query<{ term: string; df: number }>(
      `SELECT term, df FROM term_stats WHERE collection_id = $1 AND term = ANY($2::text[]) ORDER BY term`,
      [after.id, ['shake', 'tn-220', 'w-310', 'toner']],
    );
    expect(left.map((r) => r.term)).toEqual(['toner']);
    const { rows: documents } = await services.db.query(`SELECT id FROM documents WHERE collection_id = $1 AND id = 'toner'`, [after.id]);
    expect(documents).toEqual([]);

    // Retrieval no longer finds it, and scores the rest as the reference collection does.
    for (const query of ['toner cartridge TN-220', 'rear access door', 'fuser roller maintenance']) {
      expect(await bm25Scores(tenant, after.id, query)).toEqual(await bm25Scores(tenant, reference.id, query));
    }
    const hybrid = await retrieveHybrid(services, { tenantId: tenant, collection: full, query: 'replace the TN-220 toner cartridge', ...retrieval });
    expect(hybrid.passages.length).toBeGreaterThan(0);
    expect(hybrid.passages.map((p) => p.documentId)).not.toContain('toner');

    // Nothing of it is left behind: ingesting it again indexes it afresh, back to the full corpus.
    const again = await indexDocuments(services, { tenantId: tenant, collection: full, documents: docs, chunking });
    expect(again).toMatchObject({ indexed: 1, unchanged: 3 });
    const restored = await collectionOf(tenant, full);
    expect({ chunkCount: restored.chunkCount, totalTerms: restored.totalTerms }).toEqual({ chunkCount: before.chunkCount, totalTerms: before.totalTerms });
  });

  it("touches only the tenant's own collection; an unknown document moves nothing", async () => {
    const name = uniqueId('kb');
    await indexDocuments(services, { tenantId: tenant, collection: name, documents: docs, chunking });
    const mine = await collectionOf(tenant, name);
    const index = await bm25Index(mine.id);

    // Another tenant without the collection: not found. With a collection of the same name
    // (and a document of the same id), only its own document goes.
    expect(await deleteDocuments(services.db, { tenantId: other, collection: name, documentIds: ['toner'] })).toBeUndefined();
    await indexDocuments(services, { tenantId: other, collection: name, documents: [{ id: 'jam', text: 'Jams at the other tenant.' }] });
    expect(await deleteDocuments(services.db, { tenantId: other, collection: name, documentIds: ['toner'] })).toEqual({ documentIds: [], chunks: 0 });
    expect(await deleteDocuments(services.db, { tenantId: other, collection: name, documentIds: ['jam'] })).toMatchObject({ documentIds: ['jam'], chunks: 1 });
    expect((await collectionOf(other, name)).chunkCount).toBe(0);

    // An id the collection does not hold: the corpus version stays, so cached results stay valid.
    expect(await deleteDocuments(services.db, { tenantId: tenant, collection: name, documentIds: ['nope'] })).toEqual({ documentIds: [], chunks: 0 });
    expect(await collectionOf(tenant, name)).toEqual(mine);
    expect(await bm25Index(mine.id)).toEqual(index);
  });

  it('a retrieval result cached before the deletion is not served after it', async () => {
    const name = uniqueId('cached');
    await indexDocuments(services, { tenantId: tenant, collection: name, documents: docs, chunking });
    const cache = new ExactCache(services.db, { ...allLayers, ttlSeconds: 600, maxBytesPerTenant: 2 ** 20, eviction: 'lru' });
    const { retrieve } = createRetrievalActivities({ ...services, config: testConfig(), cache });
    const q = { tenantId: tenant, collection: name, query: 'replace the TN-220 toner cartridge', ...retrieval };

    const first = await retrieve(q);
    expect(first.passages.map((p) => p.documentId)).toContain('toner');
    expect((await retrieve(q)).cache).toMatchObject({ outcome: 'hit', corpusVersion: first.cache!.corpusVersion });

    await deleteDocuments(services.db, { tenantId: tenant, collection: name, documentIds: ['toner'] });
    const after = await retrieve(q);
    expect(after.cache).toMatchObject({ outcome: 'stored' });
    expect(after.cache!.corpusVersion).toBeGreaterThan(first.cache!.corpusVersion);
    expect(after.passages.map((p) => p.documentId)).not.toContain('toner');
  });
});
