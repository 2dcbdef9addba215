// Table of contents of everything with side effects. `createActivities(deps)` is what the
// worker registers; dependencies are injected so tests can hand in real or scripted ones.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Config, PayloadKeyRing } from '../infra/config.js';
import type { Db, DbCapabilities } from '../infra/db/pool.js';
import type { Logger } from '../infra/logger.js';
import { generateAnswer, rewriteQuestion, type GenerateInput, type GenerateOutput, type RewriteInput, type RewriteOutput } from './answering.js';
import type { ModelGateway } from './gateway/gateway.js';
import type { Embedder } from './retrieval/embeddings.js';
import { indexBatch, type BatchOutcome, type BatchRange } from './retrieval/ingest.js';
import { retrieveHybrid } from './retrieval/search.js';
import type { PendingApproval } from '../contracts/approvals.js';
import { compensateAction, executeAction, proposeAction, type ExecuteInput, type ExecuteOutput, type Proposal, type ProposeInput, type ProposeOutput } from './agent/actions.js';
import { indexApproval } from './agent/approval-index.js';
import { verifyApprovalSignal, type VerifySignalInput, type VerifySignalOutput } from './agent/approval-signal.js';
import { decideNextStep, type DecideInput, type DecideOutput } from './agent/decide.js';
import { planTask, type PlanInput, type PlanOutput } from './agent/plan.js';
import { runReadTool, type RunToolInput, type RunToolOutput } from './agent/run-tool.js';
import { builtinTools, ToolRegistry } from './tools/registry.js';
import type { ToolDefinition, ToolServices } from './tools/types.js';
import type { Passage, RetrievalOptions, RetrievalResult } from './retrieval/types.js';
import { GuardedAnswerStream } from './guardrails/answer-stream.js';
import { guardInput, type InputGuardInput, type InputGuardOutput } from './guardrails/input-guard.js';
import { guardOutput, type OutputGuardInput, type OutputGuardOutput } from './guardrails/output-guard.js';
import { GuardrailPolicies, type GuardrailPolicy, type VersionedPolicy } from './guardrails/policy.js';
import type { GuardCheck } from './guardrails/types.js';
import { guardToolOutput, maskPiiIn } from './guardrails/tool-output.js';
import { screenUntrusted } from './guardrails/untrusted.js';
import { PiiVault } from './guardrails/vault.js';

export interface ActivityDeps {
  db: Db;
  caps: DbCapabilities;
  embedder: Embedder;
  gateway: ModelGateway;
  config: Pick<Config, 'chunking' | 'agents' | 'retrieval'>;
  log: Logger;
  /** The payload keys: the PII vault derives its own keys from them. */
  keyRing: PayloadKeyRing;
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

/** A policy as the workflow holds it: fetched once per task, passed to every guard. */
export type TaskPolicy = VersionedPolicy;

/** What an agent's tool activities need to guard: the policy, and whose vault (a plan's sub-tasks share their parent's). */
interface Guarded {
  policy?: TaskPolicy;
  vaultTaskId?: string;
}

export function createActivities(deps: ActivityDeps) {
  const vault = new PiiVault(deps.db, deps.keyRing);
  const policies = new GuardrailPolicies(deps.db);
  const guards = { vault, gateway: deps.gateway };
  const maskForModel = async <T>(input: { tenantId: string; taskId: string } & Guarded, value: T): Promise<T> => {
    const policy = input.policy ?? (await policies.current(input.tenantId));
    return (await maskPiiIn(vault, policy.policy, { tenantId: input.tenantId, taskId: input.vaultTaskId ?? input.taskId }, value)).value;
  };
  // Every guardrail decision is logged with its verdict and latency; details never carry
  // matched values (counts, signal ids, placeholders only).
  const logChecks = (stage: string, tenantId: string, taskId: string, checks: GuardCheck[]) => {
    const notable = checks.filter((c) => c.verdict !== 'pass');
    deps.log.info({ tenantId, taskId, checks: checks.map((c) => ({ check: c.check, verdict: c.verdict, latencyMs: c.latencyMs })), ...(notable.length ? { findings: notable.map((c) => ({ check: c.check, ...c.detail })) } : {}) }, stage);
  };
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

    /**
     * Write the answer. With `stream`, it reaches the task's event stream sentence by sentence,
     * each sentence released only once the output checks passed on it.
     */
    async generateAnswer(input: GenerateInput & { policy?: TaskPolicy; taskId?: string }): Promise<GenerateOutput> {
      if (!input.stream || !input.policy || !input.taskId) return heartbeating((signal) => generateAnswer(deps.gateway, input, { signal }));
      const stream = new GuardedAnswerStream(deps.db, vault, input.policy.policy, { tenantId: input.context.tenantId ?? '', taskId: input.taskId }, input.passages.map(passageText), input.stream.attempt);
      await stream.begin();
      let streamed = false;
      const out = await heartbeating((signal) =>
        generateAnswer(deps.gateway, input, {
          signal,
          onDelta: (d) => {
            streamed = true;
            stream.push(d);
          },
        }),
      );
      if (!streamed) stream.push(out.answer); // answered without the model (nothing retrieved)
      return { ...out, streamed: await stream.end() };
    },

    // ----- guardrails -----

    /** The user's text before any model sees it: PII, injection, scope, anomaly, handoff triggers. */
    async guardInput(input: InputGuardInput & { policy?: TaskPolicy }): Promise<InputGuardOutput & { policy: TaskPolicy }> {
      const policy = input.policy ?? (await policies.current(input.tenantId));
      const out = await heartbeating((signal) => guardInput(guards, policy, input, signal));
      logChecks('input guard', input.tenantId, input.vaultTaskId, out.checks);
      return { ...out, policy };
    },

    /** An answer before anyone sees it; reports failures, the workflow's policy decides. */
    async guardOutput(input: OutputGuardInput & { policy: TaskPolicy }): Promise<OutputGuardOutput> {
      const out = await heartbeating((signal) => guardOutput(guards, input.policy, input, signal));
      logChecks('output guard', input.tenantId, input.vaultTaskId, out.checks);
      return out;
    },

    /** Retrieved passages screened for injected instructions: flagged ones dropped or quarantined. */
    async screenPassages(input: { tenantId: string; taskId: string; policy: TaskPolicy; passages: Passage[] }): Promise<{ passages: Passage[]; check: GuardCheck }> {
      const out = await screenUntrusted(deps.db, input.policy.policy, {
        tenantId: input.tenantId,
        taskId: input.taskId,
        source: 'document',
        items: input.passages.map((p) => ({ ref: `${p.documentId}#${p.chunkId}`, text: passageText(p) })),
      });
      logChecks('context screen', input.tenantId, input.taskId, [out.check]);
      return { passages: input.passages.filter((_, i) => out.keep[i]), check: out.check };
    },

    // ----- agents -----

    /** Every tool this worker can run, with its kind (the default tool set of an agent task). */
    async listTools(): Promise<Array<{ name: string; kind: string }>> {
      return registry.names().map((name) => ({ name, kind: registry.get(name)!.kind }));
    },

    /** The model's next move: a final answer, or tool calls checked against the registry. */
    async decideNextStep(input: DecideInput & Guarded): Promise<DecideOutput> {
      const vaultTaskId = input.vaultTaskId ?? input.taskId;
      return heartbeating((signal) =>
        decideNextStep(deps.gateway, registry, input, signal, { unmask: (args) => vault.unmask(vaultTaskId, args), mask: (args) => maskForModel(input, args) }),
      );
    },

    async planTask(input: PlanInput): Promise<PlanOutput> {
      return heartbeating((signal) => planTask(deps.gateway, input, signal));
    },

    /**
     * A read tool. Its arguments get the real values behind placeholders; its output is
     * screened for injected instructions and masked before it reaches the model.
     */
    async runReadTool(input: RunToolInput & Guarded): Promise<RunToolOutput & { checks?: GuardCheck[] }> {
      const vaultTaskId = input.vaultTaskId ?? input.taskId;
      const args = await vault.unmask(vaultTaskId, input.arguments);
      const out = await heartbeating((signal) => runReadTool(toolServices, registry, { ...input, arguments: args }, signal));
      if (!out.ok || !input.policy) return out;
      const guarded = await guardToolOutput(deps.db, vault, input.policy.policy, { ...input, vaultTaskId, content: out.content, provenance: out.provenance });
      logChecks(`tool output ${input.tool}`, input.tenantId, input.taskId, guarded.checks);
      return { ...out, content: guarded.content, provenance: guarded.provenance, checks: guarded.checks };
    },

    /** A write action's dry run, arguments hash, approval policy and provenance (on the real values). */
    async proposeAction(input: ProposeInput & Guarded): Promise<Exclude<ProposeOutput, Proposal> | (Omit<Proposal, 'arguments'> & { maskedArguments: Record<string, unknown> })> {
      const vaultTaskId = input.vaultTaskId ?? input.taskId;
      const [args, evidence] = await Promise.all([vault.unmask(vaultTaskId, input.arguments), vault.unmask(vaultTaskId, input.evidence)]);
      const proposed = await proposeAction(toolServices, registry, { ...input, arguments: args, evidence });
      if (!proposed.ok) return proposed;
      // What goes back to the workflow (the parsed arguments, a preview, provenance, a recorded
      // result) is masked like any tool output; the API shows approvers the real values.
      // (An approver's edit arrives with real values: the workflow keeps them masked too.)
      // One vault transaction for all of it.
      const { arguments: parsed, ...out } = proposed;
      const masked = await maskForModel(input, { preview: out.preview, provenance: out.provenance, maskedArguments: parsed, result: out.alreadyExecuted?.result });
      const alreadyExecuted = out.alreadyExecuted && { ...out.alreadyExecuted, result: masked.result };
      return { ...out, preview: masked.preview, provenance: masked.provenance, alreadyExecuted, maskedArguments: masked.maskedArguments };
    },

    /** An approved write action, exactly once (the action ledger), on the real values. */
    async executeAction(input: ExecuteInput & Guarded): Promise<ExecuteOutput> {
      const args = await vault.unmask(input.vaultTaskId ?? input.taskId, input.arguments);
      const out = await heartbeating(() => executeAction(toolServices, registry, { ...input, arguments: args }));
      // The ledger keeps the real result; the model (and history) get it masked.
      return out.ok ? { ...out, result: await maskForModel(input, out.result) } : out;
    },

    async compensateAction(input: { tenantId: string; taskId: string; approvalId: string }) {
      return compensateAction(toolServices, registry, input);
    },

    /** Mirror an approval's state into the approvals table the API lists. */
    /** A decision that came as a Signal: valid only with an approval token for exactly it. */
    async verifyApprovalSignal(input: VerifySignalInput): Promise<VerifySignalOutput> {
      return verifyApprovalSignal(deps.keyRing, input);
    },

    async indexApproval(input: { tenantId: string; taskId: string; approval: PendingApproval }): Promise<void> {
      await indexApproval(deps.db, input);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

function passageText(p: Pick<Passage, 'title' | 'heading' | 'text'>): string {
  return [p.title, p.heading, p.text].filter(Boolean).join('\n');
}

export type { GuardrailPolicy };
