// ingestDocuments on a real Temporal dev server and real Postgres.
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageDocuments } from '../../api/staging.js';
import type { Services } from '../../infra/services.js';
import type { ingestDocuments } from '../../workflows/ingest.js';
import { ingestProgressQuery, type IngestInput } from '../../workflows/messages.js';
import { startTestWorker, testServices, uniqueId, type TestWorker } from '../support/harness.js';

describe('ingestDocuments workflow', () => {
  let services: Services;
  let worker: TestWorker;
  const tenant = uniqueId('t');

  beforeAll(async () => {
    services = await testServices('pglite');
    await services.db.query('INSERT INTO tenants (id, name) VALUES ($1, $1)', [tenant]);
    worker = await startTestWorker(services);
  });
  afterAll(async () => {
    await worker?.stop();
    await services?.close();
  });

  async function ingest(documents: Array<{ id?: string; title?: string; text: string }>, batchSize = 25) {
    const ingestionId = uniqueId('ing');
    await stageDocuments(services.db, ingestionId, tenant, { collection: 'wf', documents });
    const input: IngestInput = { ingestionId, tenantId: tenant, documentCount: documents.length, batchSize, parallelBatches: 2 };
    const handle = await worker.client.workflow.start<typeof ingestDocuments>('ingestDocuments', { taskQueue: worker.taskQueue, workflowId: ingestionId, args: [input] });
    return { handle, ingestionId };
  }

  const corpus = Array.from({ length: 120 }, (_, i) => ({
    id: `doc-${i}`,
    title: `Document ${i}`,
    text: `# Document ${i}\n\nParagraph about topic ${i % 7} with detail ${i}.\n\n## Section\n\nMore words for document ${i}.`,
  }));

  it('indexes staged documents in parallel batches and reports progress', async () => {
    const { handle } = await ingest(corpus);
    const result = await handle.result();
    expect(result).toMatchObject({ documents: 120, indexed: 120, unchanged: 0, failed: 0, errors: [] });
    expect(result.chunks).toBeGreaterThanOrEqual(120);
    const progress = await handle.query(ingestProgressQuery);
    expect(progress).toMatchObject({ documents: 120, processed: 120, indexed: 120, batches: { total: 5, done: 5 } });
    // The Temporal UI's view: each batch's range as its summary, the totals as the run's details.
    const codec = worker.client.options.loadedDataConverter.payloadCodecs[0]!;
    const summaries: string[] = [];
    for (const e of (await handle.fetchHistory()).events ?? []) {
      const raw = e.userMetadata?.summary as Payload | null | undefined;
      if (raw) summaries.push(defaultPayloadConverter.fromPayload<string>((await codec.decode([raw]))[0]!));
    }
    expect(summaries).toEqual(expect.arrayContaining(['index documents 1–25 of 120', 'index documents 101–120 of 120', 'finish ingestion of 120 documents']));
    const meta = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(meta.currentDetails).toMatch(/^done: 120 documents indexed, \d+ chunks$/);
    const { rows } = await services.db.query(
      `SELECT count(*)::int AS n FROM documents d JOIN collections c ON c.id = d.collection_id WHERE c.tenant_id = $1 AND c.name = 'wf'`,
      [tenant],
    );
    expect(rows[0].n).toBe(120);
  });

  it('keeps bulk text out of workflow history and out of the staging table once indexed', async () => {
    const marker = `uniquemarker${Date.now()}`;
    const { handle, ingestionId } = await ingest([{ id: 'marked', text: `A document that mentions ${marker} once.` }]);
    await handle.result();
    const history = JSON.stringify((await handle.fetchHistory()).events);
    expect(history).not.toContain(marker);
    expect(history).toContain(ingestionId);
    const { rows } = await services.db.query('SELECT text FROM ingestion_items WHERE ingestion_id = $1', [ingestionId]);
    expect(rows).toEqual([{ text: null }]);
  });

  it('changes nothing when the same documents come again, and reports bad ones per document', async () => {
    const again = await (await ingest(corpus.slice(0, 30))).handle.result();
    expect(again).toMatchObject({ documents: 30, indexed: 0, unchanged: 30, failed: 0 });

    const mixed = await (await ingest([{ id: 'only-headings', text: '# Title\n\n## Nothing below' }, { id: 'fine', text: 'Real content here.' }])).handle.result();
    expect(mixed).toMatchObject({ documents: 2, indexed: 1, failed: 1 });
    expect(mixed.errors).toEqual([{ ordinal: 0, documentId: 'only-headings', message: 'document has no indexable text' }]);
  });
});
