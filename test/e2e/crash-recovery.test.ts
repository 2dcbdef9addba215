// A worker killed with SIGKILL in the middle of an ingestion loses nothing and duplicates
// nothing: the batch it was writing is retried on another worker after the heartbeat
// timeout, and the index ends up exactly as if nothing had happened.
import type { ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stageDocuments } from '../../api/staging.js';
import { findCollectionId } from '../../activities/retrieval/search.js';
import type { Services } from '../../infra/services.js';
import type { ingestDocuments } from '../../workflows/ingest.js';
import { ingestProgressQuery } from '../../workflows/messages.js';
import { TEST_DATA_CONVERTER, testServices, uniqueId } from '../support/harness.js';
import { startWorkerProcess } from '../support/spawn-worker.js';

describe('crash recovery', () => {
  let services: Services;
  let client: Client;
  const tenant = uniqueId('t');
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    services = await testServices('pglite');
    await services.db.query('INSERT INTO tenants (id, name) VALUES ($1, $1)', [tenant]);
    client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }), dataConverter: TEST_DATA_CONVERTER });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await client?.connection.close();
    await services?.close();
  });

  it('finishes an ingestion exactly once after its worker is killed mid-batch', async () => {
    const taskQueue = uniqueId('crash');
    const first = await startWorkerProcess(taskQueue, { EMBED_DELAY_MS: '400' });
    children.push(first);

    const ingestionId = uniqueId('ing');
    const documents = Array.from({ length: 200 }, (_, i) => ({ id: `doc-${i}`, text: `Document ${i} about subject ${i % 11}.\n\nA second paragraph, number ${i}.` }));
    await stageDocuments(services.db, ingestionId, tenant, { collection: 'crash', documents });
    const handle = await client.workflow.start<typeof ingestDocuments>('ingestDocuments', {
      taskQueue,
      workflowId: ingestionId,
      args: [{ ingestionId, tenantId: tenant, documentCount: documents.length, batchSize: 10, parallelBatches: 2 }],
    });

    // Kill the worker once some batches are done and others are in flight.
    for (let i = 0; i < 200; i++) {
      const progress = await handle.query(ingestProgressQuery);
      if (progress.batches.done >= 4) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const atKill = await handle.query(ingestProgressQuery).catch(() => undefined);
    expect(atKill?.batches.done ?? 0).toBeLessThan(20);

    children.push(await startWorkerProcess(taskQueue));
    const result = await handle.result();
    expect(result).toMatchObject({ documents: 200, indexed: 200, unchanged: 0, failed: 0 });

    // Nothing duplicated: one set of chunks per document, and exact BM25 statistics.
    const collectionId = (await findCollectionId(services.db, tenant, 'crash'))!;
    const { rows } = await services.db.query(
      `SELECT (SELECT count(*)::int FROM documents WHERE collection_id = $1) AS documents,
              (SELECT count(*)::int FROM chunks WHERE collection_id = $1) AS chunks,
              (SELECT coalesce(sum(chunk_count), 0)::int FROM documents WHERE collection_id = $1) AS declared,
              (SELECT chunk_count::int FROM collections WHERE id = $1) AS stat_chunks,
              (SELECT count(*)::int FROM chunk_terms WHERE collection_id = $1) AS postings,
              (SELECT count(*)::int FROM chunks c, unnest(c.tsv) WHERE c.collection_id = $1) AS expected_postings,
              (SELECT max(version) FROM documents WHERE collection_id = $1) AS max_version`,
      [collectionId],
    );
    expect(rows[0]).toMatchObject({ documents: 200, max_version: 1 });
    expect(rows[0].chunks).toBe(rows[0].declared);
    expect(rows[0].stat_chunks).toBe(rows[0].chunks);
    expect(rows[0].postings).toBe(rows[0].expected_postings);
    expect(result.chunks).toBe(rows[0].chunks);
  }, 120_000);
});
