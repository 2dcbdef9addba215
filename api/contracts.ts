// zod schemas of every public request and response. The OpenAPI document at /openapi.json
// is generated from these, so the contract and its documentation cannot drift apart. Shapes
// that cross into workflows too are declared in contracts/; here they get what a request may
// hold (storable strings, bounded JSON, limits) and their OpenAPI names.
import { z } from 'zod';
import * as shared from '../contracts/index.js';
import { idString, jsonObject, storableString } from '../infra/input-limits.js';

const identifier = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, "_", "." and "-" only, starting with a letter or digit');

/** Free-form JSON fields: bounded so they fit a jsonb column and a Temporal payload. */
const METADATA_BYTES = 64 * 1024;
const FILTER_BYTES = 16 * 1024;
const ARGUMENTS_BYTES = 256 * 1024;

export const errorBody = z
  .object({
    error: z.object({
      code: z.string().describe('Machine-readable error code, e.g. invalid_request, unauthorized, not_found'),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'Error' });

/** The error body of the OpenAI-compatible routes: OpenAI's shape, Gatehouse's details beside it. */
export const openAiErrorBody = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string().describe("OpenAI's error type: invalid_request_error, authentication_error, permission_error, not_found_error, rate_limit_error, api_error"),
      param: z.string().nullable().describe('The request field the error is about, if one is'),
      code: z.string().describe("Gatehouse's machine-readable code, e.g. invalid_request, budget_exceeded, rate_limited"),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'OpenAIError' });

// ---------- documents and ingestions ----------

/** A document's id as a caller names it: at ingestion, and (URL-encoded) in a path. */
const documentId = storableString(256)
  .min(1)
  // eslint-disable-next-line no-control-regex -- \p{Cc} spelled as its ranges: fuzzers and other JSON Schema tools read no \p classes
  .regex(/^[^\s\u0000-\u001f\u007f-\u009f]+$/u, 'no whitespace or control characters');

export const documentInput = z.object({
  id: documentId.optional().describe('Your id for the document; re-sending an id replaces that document. Defaults to a hash of the text.'),
  title: storableString(500).optional(),
  text: storableString(5_000_000).min(1).refine((t) => t.trim().length > 0, 'must not be blank'),
  source: storableString(2_000).optional().describe('Where the document came from (URL, path, system)'),
  metadata: jsonObject({ maxBytes: METADATA_BYTES }).optional().describe('Attributes to filter on at retrieval time'),
});

export const ingestRequest = z
  .object({
    collection: identifier.default('default'),
    documents: z.array(documentInput).min(1).max(10_000),
  })
  .superRefine((body, ctx) => {
    const seen = new Map<string, number>();
    body.documents.forEach((d, i) => {
      if (d.id === undefined) return;
      const first = seen.get(d.id);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['documents', i, 'id'], message: `duplicates documents[${first}].id` });
      } else seen.set(d.id, i);
    });
  })
  .meta({ id: 'IngestRequest' });

export const ingestAccepted = z
  .object({
    ingestionId: z.string(),
    collection: z.string(),
    documents: z.number().int(),
    status: z.literal('running'),
    links: z.object({ self: z.string() }),
  })
  .meta({ id: 'IngestAccepted' });

export const ingestionStatus = z
  .object({
    ingestionId: z.string(),
    collection: z.string(),
    status: z.enum(['running', 'completed', 'failed']),
    // The counts as the workflow's progress query reports them.
    ...shared.ingestProgress.pick({ documents: true, processed: true, indexed: true, unchanged: true, failed: true, chunks: true }).shape,
    errors: z.array(z.object({ ordinal: z.number().int(), documentId: z.string(), message: z.string() })),
    createdAt: z.string(),
  })
  .meta({ id: 'IngestionStatus' });

// A document's path keeps the id rule of ingestion, not idString's: any id a document was
// ingested under can be deleted (URL-encoded: "/" as %2F).
export const documentParams = z.object({ collection: identifier, documentId });

export const documentDeleted = z
  .object({
    collection: z.string(),
    documentId: z.string(),
    deleted: z.literal(true),
    chunks: z.number().int().describe('The chunks taken out of the index with it'),
  })
  .meta({ id: 'DocumentDeleted' });

// ---------- tasks ----------

export const conversationTurn = shared.conversationTurn.extend({ content: storableString(20_000).min(1) });

/** A task's prompt pins: known names only (checked against the tenant's versions when the task starts). */
const promptVersionPins = z.partialRecord(shared.promptName, z.number().int().positive().max(1_000_000));

export const answerOptions = z
  .object({
    mode: shared.retrievalMode.optional().describe('Retrieval mode (default: ensemble)'),
    topK: z.number().int().min(1).max(50).optional(),
    candidates: z.number().int().min(1).max(500).optional(),
    rrfK: z.number().int().min(1).max(1000).optional(),
    efSearch: z.number().int().min(1).max(1000).optional(),
    rerank: shared.sequentialRerank.optional().describe('Sequential mode: order term candidates by similarity alone, or fuse both ranks (default)'),
    model: storableString(100).min(1).optional().describe('Start the fallback chain at this registry model'),
    filter: jsonObject({ maxBytes: FILTER_BYTES }).optional().describe('Only passages whose metadata contains this object'),
    promptVersions: promptVersionPins.optional().describe('Prompt name → the version this task uses (GET /v1/prompts lists the names), whatever the tenant has in force'),
  })
  .strict();

/** What a request may ask for; an approved extension may raise a running task's budgets past these. */
const budgetLimits = {
  maxSteps: z.number().int().min(1).max(10_000),
  maxTokens: z.number().int().min(1).max(100_000_000),
  maxCostUsd: z.number().positive().max(10_000),
  maxToolCalls: z.number().int().min(1).max(10_000),
  maxWallSeconds: z.number().int().min(1).max(7 * 86_400),
} satisfies Record<keyof shared.AgentBudgets, z.ZodNumber>;

export const agentBudgets = shared.agentBudgets.extend(budgetLimits).partial().strict();

export const agentOptions = z
  .object({
    mode: shared.agentMode.optional().describe('loop (default): decide → act; plan: sub-tasks run as child tasks first'),
    tools: z.array(storableString(64).min(1)).max(50).optional().describe('Tools the agent may use (default: all)'),
    budgets: agentBudgets.optional().describe('Reaching one pauses the task with an "extend budget?" approval'),
    model: storableString(100).min(1).optional(),
    approvalTimeoutSeconds: z.number().int().min(1).max(30 * 86_400).optional().describe('How long an approval waits (default 24 h)'),
    onApprovalExpiry: shared.approvalExpiry.optional(),
    keepOpenSeconds: z.number().int().min(0).max(7 * 86_400).optional().describe('After an answer, how long the task waits for a follow-up message (default 0)'),
    deadlineSeconds: z.number().int().min(1).max(30 * 86_400).optional().describe('The task stops this long after it starts, waiting included (reported as "deadline")'),
    promptVersions: promptVersionPins.optional().describe('Prompt name → the version this task uses (GET /v1/prompts lists the names), whatever the tenant has in force'),
  })
  .strict();

const taskInput = storableString(8_000).min(1).refine((t) => t.trim().length > 0, 'must not be blank');

export const taskRequest = z
  .discriminatedUnion('type', [
    z.object({
      type: z.literal('answer'),
      input: taskInput,
      conversation: z.array(conversationTurn).max(100).optional(),
      collection: identifier.default('default'),
      options: answerOptions.optional(),
    }),
    z.object({
      type: z.literal('agent'),
      input: taskInput,
      conversation: z.array(conversationTurn).max(100).optional(),
      collection: identifier.default('default'),
      options: agentOptions.optional(),
    }),
  ])
  .meta({ id: 'TaskRequest' });

export const taskStatus = z.enum(['running', 'awaiting_approval', 'awaiting_input', 'needs_review', 'completed', 'failed', 'canceled']);

const links = z.object({ self: z.string(), result: z.string(), cancel: z.string() });

export const taskAccepted = z
  .object({ taskId: z.string(), status: taskStatus, links })
  .meta({ id: 'TaskAccepted' });

export const guardrailOutcome = shared.guardrailOutcome.meta({ id: 'GuardrailOutcome' });

export const pendingReview = shared.pendingReview.meta({ id: 'PendingReview' });

export const reviewRequest = z
  .object({
    decision: shared.reviewDecision.shape.decision,
    answer: storableString(20_000).min(1).optional().describe('The answer to send instead (decision "edit")'),
    reason: storableString(2_000).min(1).optional(),
  })
  .strict()
  .refine((r) => r.decision !== 'edit' || (r.answer !== undefined && r.answer.trim() !== ''), { message: 'an edit needs the answer to send', path: ['answer'] })
  .meta({ id: 'ReviewDecision' });

export const reviewResponse = shared.reviewOutcome.extend({ taskId: z.string() }).meta({ id: 'ReviewOutcome' });

export const answerResult = shared.answerResult.extend({ guardrails: guardrailOutcome.optional() }).meta({ id: 'AnswerResult' });

// ---------- agents ----------

/** An approval as people see it: what the workflow holds, less its bookkeeping (result, supersededBy, escalated). */
export const approvalView = shared.pendingApproval
  .omit({ result: true, supersededBy: true, escalated: true })
  .extend({
    taskId: z.string(),
    provenance: shared.pendingApproval.shape.provenance.describe(
      'Per argument, where its value came from: { argument, type (user_message | document_chunk | tool_output | quarantined | model), chunkId/documentId or tool/callId, kind, authorises, untrusted, excerpt }',
    ),
  })
  .meta({ id: 'Approval' });

export const agentView = z.object({
  phase: shared.agentPhase,
  mode: shared.agentMode,
  plan: z.array(shared.planItem),
  pendingApprovals: z.array(approvalView.omit({ taskId: true })),
  approvals: z.array(approvalView.omit({ taskId: true })).describe('Every approval of the task, decided ones included (status, reason, approvedBy)'),
  budgets: shared.agentBudgets,
  used: shared.budgetUsage,
  answers: z.array(z.string()),
  question: z.string().optional(),
});

export const agentResult = shared.agentResult.extend({ guardrails: guardrailOutcome.optional() }).meta({ id: 'AgentResult' });

export const approvalListQuery = z.object({
  status: shared.approvalStatus.default('pending'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const approvalList = z.object({ approvals: z.array(approvalView) }).meta({ id: 'ApprovalList' });

export const taskIdParams = z.object({ taskId: idString(128) });
export const approvalParams = z.object({ taskId: idString(128), approvalId: idString(64) });

export const decisionRequest = z
  .object({
    decision: shared.approvalChoice,
    argumentsHash: z.string().regex(/^[0-9a-f]{64}$/, 'expected the 64-hex-digit argumentsHash shown with the approval'),
    reason: storableString(2_000).min(1).optional(),
    arguments: jsonObject({ maxBytes: ARGUMENTS_BYTES }).optional().describe('Approve with these arguments instead: validated and shown again as a new approval'),
  })
  .strict()
  .refine((d) => d.decision === 'approve' || d.arguments === undefined, { message: 'only an approval can edit arguments', path: ['arguments'] })
  .meta({ id: 'ApprovalDecision' });

export const decisionResponse = shared.approvalOutcome.extend({ taskId: z.string() }).meta({ id: 'ApprovalOutcome' });

export const messageRequest = z.object({ text: storableString(10_000).min(1).refine((t) => t.trim().length > 0, 'must not be blank') }).strict();
export const messageAccepted = z.object({ taskId: z.string(), accepted: z.boolean(), turn: z.number().int() });
const EVENT_SEQ_MAX = 2_147_483_647; // answer_stream.seq is a Postgres int
export const eventsQuery = z.object({ since: z.coerce.number().int().min(0).max(EVENT_SEQ_MAX).optional().describe('Replay events after this sequence number') });
export const eventsHeaders = z.object({
  'last-event-id': z.string().regex(/^[0-9]{1,9}$/, 'expected the decimal id of an event').optional().describe('The id of the last event received: the stream resumes after it'),
});

export const compensationResponse = z.object({ taskId: z.string(), approvalId: z.string(), summary: z.string(), result: z.unknown(), replayed: z.boolean() });

export const taskView = z
  .object({
    taskId: z.string(),
    type: z.string(),
    status: taskStatus,
    createdAt: z.string(),
    closedAt: z.string().optional(),
    steps: z.array(shared.stepRecord),
    usage: shared.usage,
    agent: agentView.optional(),
    review: pendingReview.optional().describe('Set while the task waits for a reviewer (status needs_review)'),
    result: z.union([answerResult, agentResult]).optional(),
    error: z.object({ message: z.string(), type: z.string().optional() }).optional(),
    links,
  })
  .meta({ id: 'Task' });

export const taskResultResponse = z
  .object({ taskId: z.string(), status: taskStatus, result: z.union([answerResult, agentResult]).optional(), error: z.object({ message: z.string(), type: z.string().optional() }).optional() })
  .meta({ id: 'TaskResult' });

export const taskListQuery = z.object({
  status: taskStatus.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  pageToken: z.string().max(4_000).regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'expected a nextPageToken from this API').optional(),
});

export const taskSummary = z.object({
  taskId: z.string(),
  type: z.string(),
  status: taskStatus,
  startedAt: z.string(),
  closedAt: z.string().optional(),
});

export const taskList = z
  .object({ tasks: z.array(taskSummary), nextPageToken: z.string().optional() })
  .meta({ id: 'TaskList' });

export const resultQuery = z.object({
  wait: z.coerce.number().min(0).max(60).default(0).describe('Seconds to wait for the task to finish (long poll)'),
});

export const ingestionIdParams = z.object({ ingestionId: idString(128) });
export const idempotencyHeaders = z.object({
  'idempotency-key': storableString(200).min(1).optional(),
});

// ---------- the caller ----------

export const principalView = z
  .object({
    tenantId: z.string(),
    keyId: z.string().describe('The API key\'s id, or `oidc:<userId>` for a person signed in with an ID token'),
    roles: z.array(z.string()),
    user: z.object({ id: z.string(), name: z.string() }).optional().describe('The person the key speaks for; absent for a backend\'s key'),
  })
  .meta({ id: 'Principal' });

// ---------- health ----------

const check = z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() });
export const health = z
  .object({ status: z.enum(['ok', 'degraded']), checks: z.object({ temporal: check, database: check }) })
  .meta({ id: 'Health' });

export type TaskRequest = z.infer<typeof taskRequest>;
export type IngestRequest = z.infer<typeof ingestRequest>;
export type TaskStatus = z.infer<typeof taskStatus>;

export const approvalTokenRequest = z
  .object({
    decision: shared.approvalChoice,
    argumentsHash: z.string().regex(/^[0-9a-f]{64}$/, 'expected the 64-hex-digit argumentsHash shown with the approval'),
    reason: z.string().min(1).max(2_000).optional(),
  })
  .strict()
  .meta({ id: 'ApprovalTokenRequest' });

export const approvalTokenResponse = z
  .object({
    token: z.string().describe('Signed for this person, task, approval, arguments hash and decision'),
    expiresAt: z.string(),
    signal: z
      .object({ name: z.literal('approvalDecision'), workflowId: z.string(), input: z.record(z.string(), z.unknown()) })
      .describe("What to send in the Temporal UI's Signal form (or `temporal workflow signal`, through the codec)"),
  })
  .meta({ id: 'ApprovalToken' });

// ---------- gateway: model access, budgets, rate limits, usage ----------

const limitSubject = z
  .union([z.literal(shared.EVERY_SUBJECT), idString(100)])
  .optional()
  .describe('The key, person, task, application or model id; "*" for each one of the scope; omitted for the tenant');

export const accessListRequest = z
  .object({
    scope: shared.accessScope,
    subject: idString(100).optional().describe('The application name, user id or key id; omitted for the tenant'),
    models: z.array(idString(100)).max(200).nullable().describe('The models the scope may call; null removes the list'),
  })
  .meta({ id: 'ModelAccessList' });
export const accessLists = z
  .object({ lists: z.array(z.object({ scope: shared.accessScope, subject: z.string(), models: z.array(z.string()) })) })
  .meta({ id: 'ModelAccessLists' });

export const budgetRequest = z
  .object({
    scope: shared.budgetScope,
    subject: limitSubject,
    period: shared.budgetPeriod,
    // numeric(14, 6): up to $10M a budget.
    usd: z.number().nonnegative().max(1e7).nullable().default(null),
    tokens: z.number().int().nonnegative().max(1e15).nullable().default(null),
  })
  .meta({ id: 'BudgetRequest' });
export const budgetList = z
  .object({
    budgets: z.array(
      z.object({
        scope: shared.budgetScope,
        subject: z.string(),
        period: shared.budgetPeriod,
        usd: z.number().nullable(),
        tokens: z.number().nullable(),
        spent: z.object({ usd: z.number(), tokens: z.number(), reservedUsd: z.number(), reservedTokens: z.number(), windowStart: z.string() }).optional(),
      }),
    ),
  })
  .meta({ id: 'BudgetList' });

export const rateLimitRequest = z
  .object({
    scope: shared.rateLimitScope,
    subject: limitSubject,
    rpm: z.number().int().nonnegative().max(1e9).nullable().default(null),
    tpm: z.number().int().nonnegative().max(1e15).nullable().default(null),
  })
  .meta({ id: 'RateLimitRequest' });
export const rateLimitList = z
  .object({ limits: z.array(z.object({ scope: shared.rateLimitScope, subject: z.string(), rpm: z.number().nullable(), tpm: z.number().nullable() })) })
  .meta({ id: 'RateLimitList' });

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD')
  .refine((d) => !Number.isNaN(Date.parse(d)) && new Date(d).toISOString().startsWith(d), 'not a calendar date');
export const usageQuery = z.object({
  groupBy: z
    .string()
    .max(100)
    .default('key,model,day')
    .transform((s) => s.split(',').map((g) => g.trim()).filter(Boolean))
    .pipe(z.array(shared.usageGroup))
    .describe('Comma-separated: key, model, day, task (always per tenant)'),
  from: isoDate.optional().describe('First day (UTC), inclusive'),
  to: isoDate.optional().describe('Last day (UTC), inclusive'),
  keyId: idString(100).optional(),
  model: idString(100).optional(),
});
export const usageReport = z
  .object({
    groupBy: z.array(shared.usageGroup),
    rows: z.array(
      z.object({
        tenantId: z.string(),
        key: z.string().nullable().optional(),
        model: z.string().optional(),
        day: z.string().optional(),
        task: z.string().nullable().optional(),
        calls: z.number(),
        inputTokens: z.number(),
        outputTokens: z.number(),
        costUsd: z.number(),
        savedUsd: z.number().describe("What the caches saved: calls Gatehouse's caches answered, and the provider's prompt-cache reads"),
      }),
    ),
  })
  .meta({ id: 'UsageReport' });

export const promptCacheQuery = z.object({
  from: isoDate.optional().describe('First day (UTC), inclusive'),
  to: isoDate.optional().describe('Last day (UTC), inclusive'),
  model: idString(100).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50).describe('The prefixes with the most input tokens first'),
});
export const promptCacheReport = z
  .object({
    rows: z.array(
      z.object({
        tenantId: z.string(),
        prefix: z.string().describe("A hash of the calls' stable prefix: their system messages and tool schemas"),
        model: z.string(),
        steps: z.array(z.string()).describe('The steps that sent this prefix'),
        calls: z.number(),
        inputTokens: z.number(),
        cachedReadTokens: z.number(),
        cacheWriteTokens: z.number(),
        hitRatio: z.number().describe('cachedReadTokens / inputTokens'),
        cacheReadCallShare: z.number().describe('The share of calls that read anything from the prompt cache'),
        costUsd: z.number(),
        savedUsd: z.number().describe('cachedReadTokens × (input price − cached input price), at the prices of each call'),
      }),
    ),
  })
  .meta({ id: 'PromptCacheReport' });

// ---------- routing learned from preferences (activities/router/preferences.ts) ----------

const routerModel = idString(100).describe("A model's registry name (or the reviewer reference player, \"human\")");
const routerQuery = storableString(20_000)
  .min(1)
  .refine((t) => t.trim().length > 0, 'must not be blank')
  .describe('The query both answers answered');

export const preferenceRequest = z
  .object({
    query: routerQuery,
    winner: routerModel.describe('The model whose answer was preferred (either one, with tie)'),
    loser: routerModel,
    tie: z.boolean().optional().describe('Neither answer was better'),
    weight: z.number().min(0.001).max(100).optional().describe('How much this judgement counts (default 1)'),
  })
  .strict()
  .refine((p) => p.winner !== p.loser, { message: 'must differ from winner', path: ['loser'] })
  .meta({ id: 'PreferenceRequest' });
export const preferenceRecorded = z.object({ id: z.string(), source: shared.preferenceSource }).meta({ id: 'PreferenceRecorded' });

export const judgeRequest = z
  .object({
    query: routerQuery,
    answers: z
      .tuple([z.object({ model: routerModel, text: storableString(20_000).min(1) }).strict(), z.object({ model: routerModel, text: storableString(20_000).min(1) }).strict()])
      .describe('Two answers to the query, from two different models'),
    judgeModel: idString(100).describe('The registry model that judges, called through the gateway under your key'),
  })
  .strict()
  .refine((j) => j.answers[0].model !== j.answers[1].model, { message: 'the two answers must come from two different models', path: ['answers', 1, 'model'] })
  .meta({ id: 'JudgeRequest' });
const judgeVerdict = z.enum(['first', 'second', 'tie']);
export const judgeResponse = z
  .object({
    id: z.string(),
    winner: z.string(),
    loser: z.string(),
    tie: z.boolean(),
    verdicts: z.tuple([judgeVerdict, judgeVerdict]).describe('The verdict with the answers as given, then swapped; a disagreement is recorded as a tie'),
    reasons: z.array(z.string()),
    usage: shared.usage,
  })
  .meta({ id: 'JudgeVerdict' });

export const routerFitRequest = z
  .object({ clusters: z.number().int().min(1).max(64).optional().describe('Number of query clusters (default: about one per 20 preferences, at most 8)') })
  .strict()
  .meta({ id: 'RouterFitRequest' });
export const routerFitView = z
  .object({
    version: z.number().int(),
    preferences: z.number().int().describe('How many preferences the fit saw'),
    createdAt: z.string(),
    embedder: z.string(),
    players: z.array(z.string()),
    pooled: z.record(z.string(), z.number()).describe('Bradley–Terry strengths over all queries (geometric mean 1)'),
    clusters: z.array(z.object({ cluster: z.number().int(), size: z.number().int(), strengths: z.record(z.string(), z.number()) })),
  })
  .meta({ id: 'RouterFit' });

export const deploymentStatus = shared.deploymentStatus.meta({ id: 'DeploymentStatus' });
export const gatewayDeployments = z
  .object({
    /**
     * in_process: the deployments as this process's worker sees them (breakers are per worker
     * process); absent: this API process runs no worker, so it has no breaker state to show.
     */
    gateway: z.enum(['in_process', 'absent']),
    message: z.string().optional(),
    deployments: z.array(deploymentStatus),
  })
  .meta({ id: 'GatewayDeployments' });

// ---------- the OpenAI-compatible proxy (POST /v1/chat/completions) ----------

/** A message's text: a string, or OpenAI's list of text parts (images and audio are not accepted). */
const proxyContent = z.union([
  storableString(1_000_000),
  z.array(z.object({ type: z.literal('text'), text: storableString(1_000_000) })).max(100),
]);

const proxyToolCall = z.object({
  id: storableString(256).min(1),
  type: z.literal('function'),
  function: z.object({ name: storableString(128).min(1), arguments: storableString(ARGUMENTS_BYTES) }),
});

export const proxyMessage = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'developer']), content: proxyContent, name: storableString(128).optional() }),
  z.object({ role: z.literal('user'), content: proxyContent, name: storableString(128).optional() }),
  z.object({
    role: z.literal('assistant'),
    content: proxyContent.nullable().optional(),
    tool_calls: z.array(proxyToolCall).max(128).optional(),
    name: storableString(128).optional(),
  }),
  z.object({ role: z.literal('tool'), tool_call_id: storableString(256).min(1), content: proxyContent }),
]);

const toolName = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only');

export const chatCompletionRequest = z
  .object({
    model: storableString(128).min(1).optional().describe('A model of the registry; `auto` (or none) for the default chain. Fallbacks apply either way.'),
    messages: z.array(proxyMessage).min(1).max(1_000),
    temperature: z.number().min(0).max(2).nullable().optional(),
    max_tokens: z.number().int().min(1).max(1_000_000).nullable().optional(),
    max_completion_tokens: z.number().int().min(1).max(1_000_000).nullable().optional(),
    tools: z
      .array(
        z.object({
          type: z.literal('function'),
          function: z.object({ name: toolName, description: storableString(4_000).optional(), parameters: jsonObject({ maxBytes: ARGUMENTS_BYTES }).optional() }),
        }),
      )
      .max(128)
      .optional(),
    tool_choice: z
      .union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: toolName }) })])
      .optional()
      .describe('none drops the tools; required makes the model call one of them; a named function makes it call that one'),
    response_format: z.discriminatedUnion('type', [z.object({ type: z.literal('text') }), z.object({ type: z.literal('json_object') })]).optional(),
    stream: z.boolean().nullable().optional().describe('Server-sent events in OpenAI\'s chunk format, ending with `data: [DONE]`'),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
    user: storableString(256).optional(),
  })
  .meta({ id: 'ChatCompletionRequest' });
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequest>;

export const proxyUsage = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  prompt_tokens_details: z.object({ cached_tokens: z.number().int() }),
});

export const chatCompletion = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion'),
    created: z.number().int(),
    model: z.string().describe('The registry model that answered (after any fallback)'),
    choices: z.array(
      z.object({
        index: z.number().int(),
        message: z.object({
          role: z.literal('assistant'),
          content: z.string().nullable(),
          refusal: z.null(),
          tool_calls: z.array(proxyToolCall).optional(),
        }),
        finish_reason: z.enum(['stop', 'tool_calls', 'content_filter']).describe('content_filter: the tenant\'s guardrail policy refused the input or the answer, and the content is its stock response'),
        logprobs: z.null(),
      }),
    ),
    usage: proxyUsage,
  })
  .meta({ id: 'ChatCompletion' });
export type ChatCompletion = z.infer<typeof chatCompletion>;

// ---------- the OpenAI-compatible proxy (POST /v1/embeddings) ----------

export const embeddingsRequest = z
  .object({
    model: storableString(128).min(1).optional().describe("The deployment's embedding model (see the reply's `model`), or `auto`"),
    input: z.union([storableString(100_000).min(1), z.array(storableString(100_000).min(1)).min(1).max(256)]),
    encoding_format: z.enum(['float', 'base64']).optional().describe('base64: little-endian float32, as OpenAI sends it'),
    user: storableString(256).optional(),
  })
  .meta({ id: 'EmbeddingsRequest' });

export const embeddingsResponse = z
  .object({
    object: z.literal('list'),
    model: z.string(),
    data: z.array(z.object({ object: z.literal('embedding'), index: z.number().int(), embedding: z.union([z.array(z.number()), z.string()]) })),
    usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
  })
  .meta({ id: 'EmbeddingsResponse' });

// --- Versioned prompts (activities/prompts/) -------------------------------------------------

export const promptParams = z.object({ name: shared.promptName });

const promptUse = shared.promptUse.meta({ id: 'PromptUse' });

export const promptList = z
  .object({
    prompts: z.array(
      z.object({
        name: shared.promptName,
        description: z.string(),
        variables: z.array(z.string()).describe('The {{variables}} its templates are rendered with'),
        versions: z.number().int().describe('Versions there are, the built-in one (1) included'),
        activeVersion: z.number().int(),
        candidateVersion: z.number().int().optional(),
        candidateShare: z.number().describe("The candidate's share of the tasks, in percent (0 without one)"),
      }),
    ),
  })
  .meta({ id: 'PromptList' });

export const promptVersionList = z
  .object({
    name: shared.promptName,
    versions: z.array(
      z.object({
        version: z.number().int(),
        template: z.string(),
        description: z.string().optional(),
        createdBy: z.string().optional(),
        createdAt: z.string().optional(),
        status: z.enum(['active', 'candidate', 'inactive']),
        share: z.number().optional().describe('The share of tasks it takes, in percent, while a candidate splits the traffic'),
        builtin: z.boolean().describe("Version 1: the code's own text"),
      }),
    ),
  })
  .meta({ id: 'PromptVersionList' });

export const promptVersionRequest = z
  .object({
    template: storableString(50_000).min(1).refine((t) => t.trim().length > 0, 'must not be blank').describe('The text, with the prompt\'s {{variables}}'),
    description: storableString(500).optional(),
  })
  .strict()
  .meta({ id: 'PromptVersionRequest' });

export const promptVersionCreated = z.object({ name: shared.promptName, version: z.number().int() }).meta({ id: 'PromptVersionCreated' });

export const promptActivateRequest = z
  .object({
    version: z.number().int().positive().max(1_000_000),
    share: z.number().min(0).max(100).optional().describe('Below 100: the version becomes a candidate taking this share of the tasks (percent); default 100, the active version'),
  })
  .strict()
  .meta({ id: 'PromptActivateRequest' });

export const promptDeployment = z
  .object({ name: shared.promptName, activeVersion: z.number().int(), candidateVersion: z.number().int().optional(), candidateShare: z.number() })
  .meta({ id: 'PromptDeployment' });

export const promptCompareQuery = z.object({ sinceHours: z.coerce.number().positive().max(24 * 366).optional().describe('Only calls and tasks of the last this many hours') });

const feedbackTally = z
  .object({ count: z.number().int(), meanScore: z.number(), positive: z.number().int(), neutral: z.number().int(), negative: z.number().int() })
  .meta({ id: 'FeedbackTally' });

export const promptComparison = z
  .object({
    name: shared.promptName,
    versions: z.array(
      z.object({
        version: z.number().int(),
        tasks: z.number().int(),
        calls: z.number().int(),
        failureRate: z.number(),
        latencyMs: z.object({ p50: z.number().nullable(), p95: z.number().nullable() }),
        tokens: z.object({ input: z.number(), output: z.number() }),
        costUsd: z.number(),
        costPerTaskUsd: z.number().nullable(),
        feedback: feedbackTally.nullable(),
      }),
    ),
  })
  .meta({ id: 'PromptComparison' });

export const taskPromptVersions = z
  .object({
    taskId: z.string(),
    prompts: z.array(promptUse.extend({ steps: z.array(z.string()), calls: z.number().int() })),
  })
  .meta({ id: 'TaskPromptVersions' });

// --- Feedback (activities/feedback/) ---------------------------------------------------------

export const feedbackRequest = z
  .object({
    score: z.number().int().min(1).max(5).optional().describe('1 (bad) to 5 (good)'),
    thumbs: shared.thumbs.optional(),
    comment: storableString(4_000).optional().describe('Free text; PII in it is masked before it is stored'),
    turn: z.number().int().min(1).max(100_000).optional().describe("Which answer (1 = the first): an agent task answers once per message; default the latest"),
  })
  .strict()
  .refine((f) => f.score !== undefined || f.thumbs !== undefined, { message: 'give a score (1–5) or thumbs (up | down)', path: ['score'] })
  .refine((f) => f.score === undefined || f.thumbs === undefined, { message: 'give a score or thumbs, not both', path: ['thumbs'] })
  .meta({ id: 'FeedbackRequest' });

const feedbackRecord = z
  .object({
    id: z.string(),
    taskId: z.string(),
    turn: z.number().int(),
    score: z.number().describe('Normalised to [0, 1]'),
    verdict: shared.feedbackVerdict,
    rating: z.object({ score: z.number().int().optional(), thumbs: shared.thumbs.optional() }),
    comment: z.string().optional(),
    source: shared.feedbackSource,
    model: z.string().optional(),
    prompt: promptUse.optional(),
    createdAt: z.string(),
  })
  .meta({ id: 'Feedback' });

export const feedbackRecorded = feedbackRecord.extend({ preference: z.string().nullable().describe("The routing preference it was recorded as (model_preferences' id), if any") }).meta({ id: 'FeedbackRecorded' });

export const feedbackList = z.object({ taskId: z.string(), feedback: z.array(feedbackRecord) }).meta({ id: 'FeedbackList' });

export const feedbackSummaryQuery = z.object({ by: z.enum(['prompt_version', 'model']).default('prompt_version') });

export const feedbackSummary = z
  .object({
    by: z.enum(['prompt_version', 'model']),
    groups: z.array(feedbackTally.extend({ prompt: z.string().nullable().optional(), version: z.number().int().nullable().optional(), label: z.string().nullable().optional(), model: z.string().nullable().optional() })),
  })
  .meta({ id: 'FeedbackSummary' });

// ---------- what-if forks ----------

export const forkParams = z.object({ taskId: idString(128), forkId: idString(64) });

export const forkChanges = z
  .object({
    model: storableString(100).min(1).optional().describe('The model the live part runs with (the start of its fallback chain)'),
    prompt: z.record(storableString(100).min(1), z.number().int().positive()).optional().describe('Prompt versions to pin, by prompt name (the options field promptVersions)'),
    input: taskInput.optional().describe('A new question (answer tasks) or first message (agent tasks); the fork then starts at step 0'),
    retrieval: answerOptions.omit({ model: true }).optional().describe('Retrieval options for the live part (answer tasks)'),
  })
  .strict();

export const forkRequest = z
  .object({
    atStep: z.number().int().min(0).describe("The index, in the original's steps, of the first step that runs live; the steps before it are served from the original's record"),
    changes: forkChanges.default({}),
  })
  .strict()
  .meta({ id: 'ForkRequest' });
export type ForkRequest = z.infer<typeof forkRequest>;

/** A fork's changes as recorded and listed: a new input is not stored, only that there was one. */
export const recordedForkChanges = forkChanges.omit({ input: true }).extend({ input: z.literal(true).optional() });

export const forkAccepted = z
  .object({
    forkId: z.string(),
    taskId: z.string().describe('The fork: a task of its own, read with GET /v1/tasks/{taskId}'),
    of: z.string(),
    atStep: z.number().int(),
    status: taskStatus,
    links: links.extend({ diff: z.string() }),
  })
  .meta({ id: 'ForkAccepted' });

export const forkView = z.object({
  forkId: z.string(),
  taskId: z.string(),
  of: z.string(),
  atStep: z.number().int(),
  changes: recordedForkChanges,
  createdAt: z.string(),
});
export const forkList = z.object({ forks: z.array(forkView) }).meta({ id: 'ForkList' });

const forkSide = z.object({
  taskId: z.string(),
  status: taskStatus,
  answer: z.string().optional(),
  citations: z.array(shared.citation.pick({ index: true, chunkId: true, documentId: true, title: true })).optional(),
  model: z.string().optional(),
  usage: shared.usage,
});
const stepSide = shared.stepRecord.pick({ name: true, status: true, model: true, usage: true });

export const forkDiff = z
  .object({
    forkId: z.string(),
    atStep: z.number().int(),
    original: forkSide,
    fork: forkSide,
    answer: z.object({
      same: z.boolean(),
      /** Citations (by chunk) only one side has. */
      citationsOnlyInOriginal: z.array(z.string()),
      citationsOnlyInFork: z.array(z.string()),
    }),
    steps: z.array(
      z.object({
        index: z.number().int(),
        /** Served from the original's record (before the fork point). */
        seeded: z.boolean(),
        differs: z.boolean(),
        original: stepSide.optional(),
        fork: stepSide.optional(),
      }),
    ),
    usage: z.object({ original: shared.usage, fork: shared.usage, delta: z.object({ inputTokens: z.number(), outputTokens: z.number(), costUsd: z.number() }) }),
  })
  .meta({ id: 'ForkDiff' });

export const taskHistory = z
  .object({ taskId: z.string(), runId: z.string(), history: z.record(z.string(), z.unknown()).describe("The run's history as Temporal exports it (payloads as the cluster holds them: encrypted)") })
  .meta({ id: 'TaskHistory' });
