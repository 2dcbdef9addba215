// Retrieval's activities: indexing an ingestion batch by batch, closing it, and the hybrid
// search an answer starts from.
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../deps.js';
import { heartbeat, heartbeating } from '../heartbeat.js';
import { closeIngestion, indexBatch, type BatchOutcome, type BatchRange, type IngestionSummary } from './ingest.js';
import { retrieveHybrid } from './search.js';
import type { RetrievalOptions, RetrievalResult } from './types.js';
import { cachedRetrieval } from '../cache/retrieval.js';
import { GATEHOUSE, GEN_AI, inSpan } from '../../infra/spans.js';

export interface RetrieveInput extends RetrievalOptions {
  tenantId: string;
  collection: string;
  query: string;
}

export function createRetrievalActivities(deps: Pick<ActivityDeps, 'db' | 'caps' | 'embedder' | 'config' | 'cache'>) {
  return {
    /** Chunk, embed and index one slice of a staged ingestion. */
    async indexIngestionBatch(range: BatchRange): Promise<BatchOutcome> {
      return heartbeating(() => indexBatch({ db: deps.db, embedder: deps.embedder, chunking: deps.config.chunking, heartbeat }, range));
    },

    /** Close an ingestion: fresh planner statistics, then the totals with per-document errors. */
    async finishIngestion(input: { ingestionId: string }): Promise<IngestionSummary> {
      return closeIngestion(deps.db, input.ingestionId);
    },

    /** Hybrid retrieval, tenant- and collection-scoped. Registered as a local activity. */
    async retrieve(input: RetrieveInput): Promise<RetrievalResult> {
      if (!input.query.trim()) throw ApplicationFailure.nonRetryable('query is empty', 'InvalidInput');
      const search = () => retrieveHybrid({ db: deps.db, caps: deps.caps, embedder: deps.embedder }, input);
      // The GenAI conventions' retrieval span: the collection is the data source; never the query.
      const attributes = { [GEN_AI.operation]: 'retrieval', [GEN_AI.dataSourceId]: input.collection, [GATEHOUSE.tenant]: input.tenantId, [GATEHOUSE.retrievalMode]: input.mode, 'gatehouse.retrieval.top_k': input.topK };
      return inSpan(`retrieval ${input.collection}`, attributes, async (span) => {
        const result = await (deps.cache?.settings.layers.retrieval ? cachedRetrieval(deps.db, deps.cache, input, search) : search());
        span.setAttributes({ [GATEHOUSE.retrievalResults]: result.passages.length, ...(result.cache ? { [GATEHOUSE.cache]: result.cache.outcome } : {}) });
        return result;
      });
    },
  };
}
