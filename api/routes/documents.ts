// POST /v1/documents stores the raw documents, then starts an ingestDocuments workflow that
// carries only the ingestion id; GET /v1/ingestions/:id reports progress and errors;
// DELETE /v1/documents/:collection/:documentId takes a document out of the index.
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { deleteDocuments } from '../../activities/retrieval/delete-documents.js';
import { TASK_TYPE_SEARCH_ATTRIBUTE, TENANT_SEARCH_ATTRIBUTE } from '../../contracts/search-attributes.js';
import type { ingestDocuments } from '../../workflows/ingest.js';
import { startSummaries } from '../../workflows/policy/summaries.js';
import { requireRole } from '../auth.js';
import { documentDeleted, documentParams, errorBody, ingestAccepted, ingestionIdParams, ingestionStatus, ingestRequest } from '../contracts.js';
import { notFound, temporalError } from '../errors.js';
import { principalOf, type ApiDeps } from '../route-deps.js';
import { stageDocuments } from '../staging.js';
import { taskStatusOf } from '../task-status.js';

export const documentRoutes = (deps: ApiDeps): FastifyPluginAsyncZod => async (app) => {
  app.post(
    '/v1/documents',
    {
      schema: {
        tags: ['documents'],
        summary: 'Ingest documents into a collection (asynchronously)',
        body: ingestRequest,
        response: { 202: ingestAccepted, 400: errorBody, 401: errorBody, 403: errorBody, 503: errorBody },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      requireRole(principal, 'documents:write');
      const ingestionId = `ing_${randomUUID().replaceAll('-', '')}`;
      await stageDocuments(deps.db, ingestionId, principal.tenantId, req.body);
      try {
        await deps.temporal.workflow.start<typeof ingestDocuments>('ingestDocuments', {
          workflowId: ingestionId,
          taskQueue: deps.config.temporal.taskQueue,
          staticSummary: startSummaries.ingest(req.body.documents.length, req.body.collection),
          args: [
            {
              ingestionId,
              tenantId: principal.tenantId,
              documentCount: req.body.documents.length,
              batchSize: deps.config.ingest.batchSize,
              parallelBatches: deps.config.ingest.parallelBatches,
            },
          ],
          typedSearchAttributes: [
            { key: TENANT_SEARCH_ATTRIBUTE, value: principal.tenantId },
            { key: TASK_TYPE_SEARCH_ATTRIBUTE, value: 'ingest' },
          ],
        });
      } catch (err) {
        // Nothing will process the staged rows: remove them so the failure leaves no trace.
        await deps.db.query('DELETE FROM ingestions WHERE id = $1', [ingestionId]).catch(() => undefined);
        throw temporalError(err);
      }
      req.log.info({ ingestionId, tenantId: principal.tenantId, documents: req.body.documents.length }, 'ingestion started');
      return reply.code(202).send({
        ingestionId,
        collection: req.body.collection,
        documents: req.body.documents.length,
        status: 'running' as const,
        links: { self: `/v1/ingestions/${ingestionId}` },
      });
    },
  );

  app.get(
    '/v1/ingestions/:ingestionId',
    {
      schema: {
        tags: ['documents'],
        summary: 'Progress and outcome of an ingestion',
        params: ingestionIdParams,
        response: { 200: ingestionStatus, 401: errorBody, 403: errorBody, 404: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'documents:read');
      const { rows } = await deps.db.query<{ collection: string; document_count: number; created_at: Date }>(
        `SELECT c.name AS collection, i.document_count, i.created_at FROM ingestions i
         JOIN collections c ON c.id = i.collection_id WHERE i.id = $1 AND i.tenant_id = $2`,
        [req.params.ingestionId, principal.tenantId],
      );
      const ingestion = rows[0];
      if (!ingestion) throw notFound(`ingestion ${req.params.ingestionId}`);

      // Counts come from the items themselves: exact, and readable without a worker.
      const counts = await deps.db.query<{ status: string; n: number; chunks: number }>(
        `SELECT status, count(*)::int AS n, coalesce(sum(chunk_count), 0)::int AS chunks
         FROM ingestion_items WHERE ingestion_id = $1 GROUP BY status`,
        [req.params.ingestionId],
      );
      const errors = await deps.db.query<{ ordinal: number; document_id: string; error: string }>(
        `SELECT ordinal, document_id, error FROM ingestion_items
         WHERE ingestion_id = $1 AND status = 'failed' ORDER BY ordinal LIMIT 100`,
        [req.params.ingestionId],
      );
      const n = (s: string) => counts.rows.find((r) => r.status === s)?.n ?? 0;

      let status: 'running' | 'completed' | 'failed';
      try {
        const described = await deps.temporal.workflow.getHandle(req.params.ingestionId).describe();
        const s = taskStatusOf(described.status.name);
        status = s === 'running' ? 'running' : s === 'completed' ? 'completed' : 'failed';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) status = 'failed';
        else throw temporalError(err);
      }
      return {
        ingestionId: req.params.ingestionId,
        collection: ingestion.collection,
        status,
        documents: ingestion.document_count,
        processed: n('indexed') + n('unchanged') + n('failed'),
        indexed: n('indexed'),
        unchanged: n('unchanged'),
        failed: n('failed'),
        chunks: counts.rows.reduce((total, r) => total + r.chunks, 0),
        errors: errors.rows.map((e) => ({ ordinal: e.ordinal, documentId: e.document_id, message: e.error })),
        createdAt: ingestion.created_at.toISOString(),
      };
    },
  );

  app.delete(
    '/v1/documents/:collection/:documentId',
    {
      schema: {
        tags: ['documents'],
        summary: 'Delete a document: its chunks leave retrieval, and cached results from before are not served',
        params: documentParams,
        response: { 200: documentDeleted, 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'documents:write');
      const { collection, documentId } = req.params;
      // Called here, not from a workflow (as staging is): one short transaction of a few
      // statements that either happened or did not — nothing to resume, retry or inspect later.
      const result = await deleteDocuments(deps.db, { tenantId: principal.tenantId, collection, documentIds: [documentId] });
      if (!result) throw notFound(`collection ${collection}`);
      if (result.documentIds.length === 0) throw notFound(`document ${documentId} in collection ${collection}`);
      req.log.info({ tenantId: principal.tenantId, collection, documentId, chunks: result.chunks, by: principal.keyId }, 'document deleted');
      return { collection, documentId, deleted: true as const, chunks: result.chunks };
    },
  );
};
