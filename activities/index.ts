// Table of contents of everything with side effects. `createActivities(deps)` is what the
// worker registers; dependencies are injected so tests can hand in real or scripted ones.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../infra/config.js';
import type { Db, DbCapabilities } from '../infra/db/pool.js';
import type { Logger } from '../infra/logger.js';
import { generateAnswer, rewriteQuestion, type GenerateInput, type GenerateOutput, type RewriteInput, type RewriteOutput } from './answering.js';
import type { ModelGateway } from './gateway/gateway.js';
import type { Embedder } from './retrieval/embeddings.js';
import { indexBatch, type BatchOutcome, type BatchRange } from './retrieval/ingest.js';
import { retrieveHybrid } from './retrieval/search.js';
import type { PendingApproval } from '../workflows/messages.js';
import { compensateAction, executeAction, proposeAction, type ExecuteInput, type ExecuteOutput, type ProposeInput, type ProposeOutput } from './agent/actions.js';
import { indexApproval } from './agent/approval-index.js';
import { decideNextStep, type DecideInput, type DecideOutput } from './agent/decide.js';
import { planTask, type PlanInput, type PlanOutput } from './agent/plan.js';
import { runReadTool, type RunToolInput, type RunToolOutput } from './agent/run-tool.js';
import { builtinTools, ToolRegistry } from './tools/registry.js';
import type { ToolDefinition, ToolServices } from './tools/types.js';
import type { RetrievalOptions, RetrievalResult } from './retrieval/types.js';

export interface ActivityDeps {
  db: Db;
  caps: DbCapabilities;
  embedder: Embedder;
  gateway: ModelGateway;
  config: Pick<Config, 'chunking' | 'agents' | 'retrieval'>;
  log: Logger;
  /** Tools a deployment adds to the built-in ones. */
  tools?: ToolDefinition[];
}

export interface RetrieveInput extends RetrievalOptions {
  tenantId: string;
  collection: string;
  query: string;
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
 * Run a long call (a model request) heartbeating every few seconds, so Temporal notices a
 * dead worker within the heartbeat timeout and can deliver cancellation, which aborts the call.
 */
async function heartbeating<T>(fn: (signal?: AbortSignal) => Promise<T>): Promise<T> {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return fn(); // a direct call outside an activity
  }
  const timer = setInterval(() => context.heartbeat(), 2_000);
  try {
    return await fn(context.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}

function heartbeat(detail: unknown): void {
  try {
    Context.current().heartbeat(detail);
  } catch {
    // called outside an activity (a direct call in a benchmark or test): nothing to report to
  }
}

export function createActivities(deps: ActivityDeps) {
  const registry = new ToolRegistry([...builtinTools(deps.config.agents, deps.db), ...(deps.tools ?? [])]);
  const { mode, topK, candidates, rrfK, efSearch } = deps.config.retrieval;
  const toolServices: ToolServices = {
    db: deps.db,
    caps: deps.caps,
    embedder: deps.embedder,
    gateway: deps.gateway,
    log: deps.log,
    retrieval: { mode, topK, candidates, rrfK, efSearch },
  };
  return {
    /** Chunk, embed and index one slice of a staged ingestion. */
    async indexIngestionBatch(range: BatchRange): Promise<BatchOutcome> {
      return heartbeating(() => indexBatch({ db: deps.db, embedder: deps.embedder, chunking: deps.config.chunking, heartbeat }, range));
    },

    /**
     * Close an ingestion: refresh the tables' visibility map and planner statistics (BM25's
     * index-only scans need the first, PGlite has no autovacuum to keep it), then report the
     * totals with per-document errors (first 100).
     */
    async finishIngestion(input: { ingestionId: string }): Promise<IngestionSummary> {
      await deps.db.query('VACUUM (ANALYZE) chunks, chunk_terms, term_stats');
      const { rows } = await deps.db.query<{ status: string; n: number; chunks: string }>(
        `SELECT status, count(*)::int AS n, coalesce(sum(chunk_count), 0)::text AS chunks
         FROM ingestion_items WHERE ingestion_id = $1 GROUP BY status`,
        [input.ingestionId],
      );
      const errors = await deps.db.query<{ ordinal: number; document_id: string; error: string }>(
        `SELECT ordinal, document_id, error FROM ingestion_items
         WHERE ingestion_id = $1 AND status = 'failed' ORDER BY ordinal LIMIT 100`,
        [input.ingestionId],
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
    },

    /** Hybrid retrieval, tenant- and collection-scoped. Registered as a local activity. */
    async retrieve(input: RetrieveInput): Promise<RetrievalResult> {
      if (!input.query.trim()) throw ApplicationFailure.nonRetryable('query is empty', 'InvalidInput');
      return retrieveHybrid({ db: deps.db, caps: deps.caps, embedder: deps.embedder }, input);
    },

    async rewriteQuestion(input: RewriteInput): Promise<RewriteOutput> {
      return heartbeating((signal) => rewriteQuestion(deps.gateway, input, { signal }));
    },

    async generateAnswer(input: GenerateInput): Promise<GenerateOutput> {
      return heartbeating((signal) => generateAnswer(deps.gateway, input, { signal }));
    },

    // ----- agents -----

    /** Every tool this worker can run, with its kind (the default tool set of an agent task). */
    async listTools(): Promise<Array<{ name: string; kind: string }>> {
      return registry.names().map((name) => ({ name, kind: registry.get(name)!.kind }));
    },

    /** The model's next move: a final answer, or tool calls checked against the registry. */
    async decideNextStep(input: DecideInput): Promise<DecideOutput> {
      return heartbeating((signal) => decideNextStep(deps.gateway, registry, input, signal));
    },

    async planTask(input: PlanInput): Promise<PlanOutput> {
      return heartbeating((signal) => planTask(deps.gateway, input, signal));
    },

    async runReadTool(input: RunToolInput): Promise<RunToolOutput> {
      return heartbeating((signal) => runReadTool(toolServices, registry, input, signal));
    },

    /** A write action's dry run, arguments hash, approval policy and provenance. */
    async proposeAction(input: ProposeInput): Promise<ProposeOutput> {
      return proposeAction(toolServices, registry, input);
    },

    /** An approved write action, exactly once (the action ledger). */
    async executeAction(input: ExecuteInput): Promise<ExecuteOutput> {
      return heartbeating(() => executeAction(toolServices, registry, input));
    },

    async compensateAction(input: { tenantId: string; taskId: string; approvalId: string }) {
      return compensateAction(toolServices, registry, input);
    },

    /** Mirror an approval's state into the approvals table the API lists. */
    async indexApproval(input: { tenantId: string; taskId: string; approval: PendingApproval }): Promise<void> {
      await indexApproval(deps.db, input);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
