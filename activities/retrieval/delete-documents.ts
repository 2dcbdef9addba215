// Deleting documents from a collection: the documents, their chunks, their BM25 postings and
// document frequencies, and the collection's statistics — the same removal re-ingesting a
// changed document does (removeDocumentChunks), in one short transaction under the collection's
// row lock. addCorpusStatistics moves the corpus version on, so cached retrieval results from
// before the deletion are never served again.
//
// The dead rows are left to autovacuum, or on PGlite (which has none) to the next ingestion's
// VACUUM in closeIngestion: VACUUM cannot run in a transaction, and a deletion is one request.
import { inTransaction, type Db } from '../../infra/db/pool.js';
import { addCorpusStatistics, dropUnusedTerms, lockCollection, removeDocumentChunks } from './ingest.js';

export interface DeletedDocuments {
  /** The ids that existed and are gone, in no particular order. */
  documentIds: string[];
  chunks: number;
}

/**
 * Delete a tenant's documents by id. `undefined` when the tenant has no such collection;
 * ids the collection does not hold are skipped (and left out of `documentIds`). Nothing moves —
 * not even the corpus version — when none of them was there.
 */
export async function deleteDocuments(db: Db, target: { tenantId: string; collection: string; documentIds: string[] }): Promise<DeletedDocuments | undefined> {
  // The tenant's name resolves to its own collection only: another tenant's is never touched.
  const { rows } = await db.query<{ id: number }>('SELECT id FROM collections WHERE tenant_id = $1 AND name = $2', [target.tenantId, target.collection]);
  const collectionId = rows[0]?.id;
  if (collectionId === undefined) return undefined;

  return inTransaction(db, async (client) => {
    await lockCollection(client, collectionId);
    const removed = await removeDocumentChunks(client, collectionId, target.documentIds);
    // After the chunks: this row's foreign key cascades to them, which would hide their postings.
    const deleted = await client.query<{ id: string }>('DELETE FROM documents WHERE collection_id = $1 AND id = ANY($2::text[]) RETURNING id', [
      collectionId,
      target.documentIds,
    ]);
    if (deleted.rows.length === 0) return { documentIds: [], chunks: 0 };
    await addCorpusStatistics(client, collectionId, { chunks: -removed.chunks, terms: -removed.terms });
    await dropUnusedTerms(client, collectionId);
    return { documentIds: deleted.rows.map((r) => r.id), chunks: removed.chunks };
  });
}
