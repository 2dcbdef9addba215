// Raw documents are stored before their ingestion workflow starts, so the workflow carries
// an id, never bulk text, and nothing is lost if the API dies right after answering 202.
import { createHash } from 'node:crypto';
import { inTransaction, type Db } from '../infra/db/pool.js';
import type { IngestRequest } from './contracts.js';

const STAGE_CHUNK = 500;

/** Content hash of a document as staged: any change to what gets indexed changes it. */
export function contentHash(doc: { title?: string | null; text: string; source?: string | null; metadata?: unknown }): string {
  return createHash('sha256')
    .update(JSON.stringify([doc.title ?? null, doc.source ?? null, doc.metadata ?? {}, doc.text]))
    .digest('hex');
}

export async function collectionId(db: Db, tenantId: string, name: string): Promise<number> {
  // DO NOTHING, then read: an upsert would lock the row that index writers hold.
  await db.query('INSERT INTO collections (tenant_id, name) VALUES ($1, $2) ON CONFLICT (tenant_id, name) DO NOTHING', [tenantId, name]);
  const { rows } = await db.query<{ id: number }>('SELECT id FROM collections WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
  return rows[0]!.id;
}

/** Store the request's documents as ingestion items, in one transaction. */
export async function stageDocuments(
  db: Db,
  ingestionId: string,
  tenantId: string,
  body: Pick<IngestRequest, 'collection' | 'documents'>,
): Promise<void> {
  const collection = await collectionId(db, tenantId, body.collection);
  const items = body.documents.map((d, ordinal) => {
    const hash = contentHash(d);
    // Without an id, the text names the document: sending it twice changes nothing.
    const id = d.id ?? `sha256-${contentHash({ text: d.text }).slice(0, 32)}`;
    return { ordinal, id, hash, ...d };
  });
  await inTransaction(db, async (client) => {
    await client.query('INSERT INTO ingestions (id, tenant_id, collection_id, document_count) VALUES ($1, $2, $3, $4)', [
      ingestionId,
      tenantId,
      collection,
      items.length,
    ]);
    for (let i = 0; i < items.length; i += STAGE_CHUNK) {
      const slice = items.slice(i, i + STAGE_CHUNK);
      await client.query(
        `INSERT INTO ingestion_items (ingestion_id, ordinal, document_id, title, source, metadata, text, content_hash)
         SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::text[], $8::text[])`,
        [
          ingestionId,
          slice.map((d) => d.ordinal),
          slice.map((d) => d.id),
          slice.map((d) => d.title ?? null),
          slice.map((d) => d.source ?? null),
          slice.map((d) => JSON.stringify(d.metadata ?? {})),
          slice.map((d) => d.text),
          slice.map((d) => d.hash),
        ],
      );
    }
  });
}
