// Tasks: start (idempotently), inspect, wait for, list and cancel. The task id is the
// workflow id; the tasks table records which tenant owns it, and another tenant's task is
// indistinguishable from a missing one (404).
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type WorkflowHandle,
} from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TASK_STATUS_SEARCH_ATTRIBUTE, TASK_TYPE_SEARCH_ATTRIBUTE, TENANT_SEARCH_ATTRIBUTE, taskSearchAttributes } from '../../contracts/search-attributes.js';
import type { runAgent } from '../../workflows/agent/index.js';
import type { answerQuestion } from '../../workflows/answer.js';
import { startSummaries } from '../../workflows/policy/summaries.js';
import {
  agentStatusQuery,
  answerStatusQuery,
  type PendingReview,
  type AgentResult,
  type AgentTaskInput,
  type AnswerResult,
  type AnswerTaskInput,
  type StepRecord,
} from '../../workflows/messages.js';
import { GatewayLimits } from '../../activities/gateway/limits/index.js';
import { PromptStore } from '../../activities/prompts/store.js';
import { metrics } from '../../infra/metrics.js';
import { agentView, type AgentView } from '../agent-view.js';
import { PiiReveal } from '../reveal.js';
import { ownedTask as ownedTaskOf } from '../owned-task.js';
import { requireRole, type Principal } from '../auth.js';
import {
  errorBody,
  idempotencyHeaders,
  resultQuery,
  taskAccepted,
  taskIdParams,
  taskList,
  taskListQuery,
  taskRequest,
  taskResultResponse,
  taskView,
  type TaskRequest,
  type TaskStatus,
} from '../contracts.js';
import { ApiError, assertFitsTemporal, conflict, gatewayRefusal, notFound, temporalError } from '../errors.js';
import { principalOf, type ApiDeps } from '../route-deps.js';
import { executionStatusFilter, refineStatus, statusName, TASK_TYPES, taskStatusOf } from '../task-status.js';

const WORKFLOW_OF = { answer: 'answerQuestion', agent: 'runAgent' } as const;
const TYPE_OF_WORKFLOW: Record<string, string> = { answerQuestion: 'answer', runAgent: 'agent' };

function linksFor(taskId: string) {
  return { self: `/v1/tasks/${taskId}`, result: `/v1/tasks/${taskId}/result`, cancel: `/v1/tasks/${taskId}/cancel` };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function failureMessage(err: unknown): { message: string; type?: string } {
  if (err instanceof WorkflowFailedError) {
    const cause = err.cause as { message?: string; type?: string; cause?: { message?: string; type?: string } } | undefined;
    // An activity's failure wraps the activity's own: its type (e.g. the gateway's BudgetExceeded) says why.
    return { message: cause?.cause?.message ?? cause?.message ?? err.message, type: cause?.type ?? cause?.cause?.type };
  }
  return { message: err instanceof Error ? err.message : String(err) };
}

/**
 * Page tokens as the API hands them out: Temporal's token and an HMAC over it and the tenant,
 * keyed from the payload key ring (any of its keys verifies, so a rotation keeps pages working).
 */
function pageTokenSigner(keyRing: ApiDeps['keyRing']) {
  const keys = [...keyRing.keys.entries()].sort(([a], [b]) => (a === keyRing.currentKeyId ? -1 : b === keyRing.currentKeyId ? 1 : 0));
  const mac = (key: Buffer, tenantId: string, token: Uint8Array) =>
    createHmac('sha256', key).update('gatehouse page token\u0000').update(tenantId).update('\u0000').update(token).digest().subarray(0, 16);
  return {
    seal: (tenantId: string, token: Uint8Array) => `${Buffer.from(token).toString('base64url')}.${mac(keys[0]![1], tenantId, token).toString('base64url')}`,
    open(tenantId: string, sealed: string): Uint8Array | undefined {
      const [body, tag, extra] = sealed.split('.');
      if (!body || !tag || extra !== undefined) return undefined;
      const token = Buffer.from(body, 'base64url');
      const given = Buffer.from(tag, 'base64url');
      return keys.some(([, key]) => {
        const expected = mac(key, tenantId, token);
        return given.length === expected.length && timingSafeEqual(given, expected);
      })
        ? token
        : undefined;
    },
  };
}

export const taskRoutes = (deps: ApiDeps): FastifyPluginAsyncZod => async (app) => {
  const { temporal, db } = deps;
  const pageTokens = pageTokenSigner(deps.keyRing);
  const limits = new GatewayLimits(db);
  const prompts = new PromptStore(db);

  const ownedTask = (principal: Principal, taskId: string) => ownedTaskOf(db, principal, taskId);
  const reveal = new PiiReveal(db, deps.keyRing);
  /** The answer (and the question it answers, or the actions' results) restored for the caller; steps stay masked. */
  async function revealResult<T extends AnswerResult | AgentResult | undefined>(principal: Principal, taskId: string, result: T): Promise<T> {
    if (!result) return result;
    if ('question' in result) return { ...result, ...(await reveal.forCaller(principal, taskId, { answer: result.answer, question: result.question })) };
    return { ...result, ...(await reveal.forCaller(principal, taskId, { answer: result.answer, actions: result.actions })) };
  }

  async function describe(handle: WorkflowHandle) {
    try {
      return await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notFound(`task ${handle.workflowId}`);
      throw temporalError(err);
    }
  }

  function answerInput(principal: Principal, body: Extract<TaskRequest, { type: 'answer' }>): AnswerTaskInput {
    const r = deps.config.retrieval;
    const o = body.options ?? {};
    return {
      tenantId: principal.tenantId,
      collection: body.collection,
      question: body.input,
      conversation: body.conversation ?? [],
      options: {
        mode: o.mode ?? r.mode,
        topK: o.topK ?? r.topK,
        candidates: o.candidates ?? r.candidates,
        rrfK: o.rrfK ?? r.rrfK,
        efSearch: o.efSearch ?? r.efSearch,
        rerank: o.rerank,
        model: o.model,
        filter: o.filter,
        promptVersions: o.promptVersions,
        // What a route to an agent (the tenant's routing document) runs with.
        agent: { budgets: deps.config.agents.budgets, approvalTimeoutSeconds: deps.config.agents.approvalTimeoutSeconds, onApprovalExpiry: 'reject' },
      },
    };
  }

  function agentInput(principal: Principal, body: Extract<TaskRequest, { type: 'agent' }>): AgentTaskInput {
    const a = deps.config.agents;
    const o = body.options ?? {};
    return {
      tenantId: principal.tenantId,
      collection: body.collection,
      input: body.input,
      conversation: body.conversation ?? [],
      options: {
        mode: o.mode ?? 'loop',
        tools: o.tools,
        budgets: { ...a.budgets, ...o.budgets },
        model: o.model,
        approvalTimeoutSeconds: o.approvalTimeoutSeconds ?? a.approvalTimeoutSeconds,
        onApprovalExpiry: o.onApprovalExpiry ?? 'reject',
        keepOpenSeconds: o.keepOpenSeconds ?? 0,
        maxMalformedToolCalls: 3,
        deadlineAt: o.deadlineSeconds ? new Date(Date.now() + o.deadlineSeconds * 1000).toISOString() : undefined,
        promptVersions: o.promptVersions,
      },
    };
  }

  async function startWorkflow(taskId: string, principal: Principal, body: TaskRequest): Promise<void> {
    const common = {
      workflowId: taskId,
      taskQueue: deps.config.temporal.taskQueue,
      typedSearchAttributes: taskSearchAttributes(principal.tenantId, body.type),
    };
    try {
      // The Temporal UI's one line for the run: names and settings, never the question.
      if (body.type === 'answer') {
        const input = answerInput(principal, body);
        const staticSummary = startSummaries.answer(input.collection, input.options.mode, input.options.model);
        await temporal.workflow.start<typeof answerQuestion>(WORKFLOW_OF.answer, { ...common, staticSummary, args: [input] });
      } else {
        const input = agentInput(principal, body);
        const staticSummary = startSummaries.agent(input.options.mode, input.collection, input.options.tools);
        await temporal.workflow.start<typeof runAgent>(WORKFLOW_OF.agent, { ...common, staticSummary, args: [input] });
      }
    } catch (err) {
      // Already started: a retried request (same Idempotency-Key) — exactly what we want.
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      throw err;
    }
  }

  app.post(
    '/v1/tasks',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Start a task',
        description: 'With an Idempotency-Key header, a retried request returns the task the first one started.',
        body: taskRequest,
        headers: idempotencyHeaders,
        response: { 202: taskAccepted, 400: errorBody, 401: errorBody, 403: errorBody, 413: errorBody, 422: errorBody, 429: errorBody, 503: errorBody },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:write');
      // Before anything is stored: an input Temporal would refuse leaves no task behind.
      assertFitsTemporal(req.body, 'body');
      const key = req.headers['idempotency-key'];
      const requestHash = sha256(JSON.stringify(req.body));
      // A keyed task's id is derived from (tenant, key): a retry after a crash anywhere in
      // this handler lands on the same workflow id, which Temporal will not start twice.
      let taskId = key ? `task_${sha256(`${principal.tenantId}\u0000${key}`).slice(0, 32)}` : `task_${randomUUID().replaceAll('-', '')}`;
      // Pinned prompt versions must exist; the activities read them from the task's row.
      const pins = req.body.options?.promptVersions;
      const pinProblem = pins && (await prompts.pinProblem(principal.tenantId, pins as Record<string, number>, 'body.options.promptVersions'));
      if (pinProblem) throw new ApiError(400, 'invalid_request', pinProblem);

      // The caller is recorded with the task: the gateway holds every model call the task makes to
      // this key's, person's and application's allow-lists, budgets and rate limits.
      const inserted = await db.query(
        `INSERT INTO tasks (id, tenant_id, type, idempotency_key, request_hash, key_id, user_id, application, prompt_versions) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT DO NOTHING RETURNING id`,
        [taskId, principal.tenantId, req.body.type, key ?? null, requestHash, principal.keyId, principal.userId ?? null, principal.application ?? null, pins ? JSON.stringify(pins) : null],
      );
      if (inserted.rowCount) {
        // A model off the allow-list, or a budget or rate limit already used up, refuses the task
        // here (403, 429) rather than failing it at its first model call.
        const refused = await limits.refusalFor({ ...principal }, req.body.options?.model);
        if (refused) {
          await db.query('DELETE FROM tasks WHERE id = $1', [taskId]);
          throw gatewayRefusal(refused)!;
        }
      } else {
        const { rows } = await db.query<{ id: string; request_hash: string }>(
          'SELECT id, request_hash FROM tasks WHERE tenant_id = $1 AND idempotency_key = $2',
          [principal.tenantId, key],
        );
        const existing = rows[0];
        if (!existing) throw new ApiError(500, 'internal', 'task id collision');
        if (existing.request_hash !== requestHash) {
          throw new ApiError(422, 'idempotency_key_reused', 'this Idempotency-Key was used for a different request');
        }
        taskId = existing.id;
      }

      try {
        await startWorkflow(taskId, principal, req.body);
      } catch (err) {
        if (!key) await db.query('DELETE FROM tasks WHERE id = $1', [taskId]).catch(() => undefined);
        throw temporalError(err);
      }
      const described = await describe(temporal.workflow.getHandle(taskId));
      req.log.info({ taskId, tenantId: principal.tenantId, replay: !inserted.rowCount }, 'task started');
      if (inserted.rowCount) metrics.tasksStarted.inc({ type: req.body.type, tenant: principal.tenantId });
      return reply.code(202).send({ taskId, status: taskStatusOf(described.status.name), links: linksFor(taskId) });
    },
  );

  app.get(
    '/v1/tasks/:taskId',
    {
      schema: {
        tags: ['tasks'],
        summary: 'A task: status, steps so far, usage and, when done, its result',
        params: taskIdParams,
        response: { 200: taskView, 401: errorBody, 403: errorBody, 404: errorBody, 503: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:read');
      const task = await ownedTask(principal, req.params.taskId);
      const handle = temporal.workflow.getHandle(req.params.taskId);
      const described = await describe(handle);
      let status = taskStatusOf(described.status.name);

      let result: AnswerResult | AgentResult | undefined;
      let error: { message: string; type?: string } | undefined;
      let steps: StepRecord[] = [];
      let usage = { inputTokens: 0, outputTokens: 0, costUsd: 0 };
      let agent: AgentView | undefined;
      let review: PendingReview | undefined;
      if (status !== 'running' && status !== 'completed') error = await handle.result().then(() => undefined, failureMessage);
      if (status === 'completed') result = (await handle.result()) as AnswerResult | AgentResult;
      try {
        // For a closed run the query replays its history on a worker; if none is up, the
        // task is still reported, just without steps.
        if (task.type === 'agent') {
          const s = await handle.query(agentStatusQuery);
          ({ steps, usage, review } = s);
          agent = agentView(s);
          if (status === 'running' && (s.phase === 'awaiting_approval' || s.phase === 'awaiting_input' || s.phase === 'needs_review')) status = s.phase;
        } else if (status === 'completed') {
          ({ steps, usage } = result as AnswerResult);
        } else {
          const s = await handle.query(answerStatusQuery);
          ({ steps, usage, review } = s);
          if (status === 'running' && s.phase === 'needs_review') status = 'needs_review';
        }
      } catch (err) {
        if (result) ({ steps, usage } = result);
        req.log.warn({ taskId: req.params.taskId, err: String(err) }, 'status query failed');
      }
      // Masked PII comes back restored only for a caller with pii:read; steps stay masked.
      result = await revealResult(principal, req.params.taskId, result);
      if (agent) {
        agent = {
          ...agent,
          answers: await reveal.forCaller(principal, req.params.taskId, agent.answers),
          pendingApprovals: await reveal.forApprover(principal, req.params.taskId, agent.pendingApprovals),
          approvals: await reveal.forApprover(principal, req.params.taskId, agent.approvals),
        };
      }
      review = await reveal.forCaller(principal, req.params.taskId, review);
      return {
        taskId: req.params.taskId,
        type: task.type,
        status,
        agent,
        review,
        createdAt: task.created_at.toISOString(),
        closedAt: described.closeTime?.toISOString(),
        steps,
        usage,
        result,
        error,
        links: linksFor(req.params.taskId),
      };
    },
  );

  app.get(
    '/v1/tasks/:taskId/result',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Wait for a task to finish (long poll)',
        description: '200 with the outcome once the task has finished; 202 if it is still running after `wait` seconds.',
        params: taskIdParams,
        querystring: resultQuery,
        response: { 200: taskResultResponse, 202: taskResultResponse, 401: errorBody, 403: errorBody, 404: errorBody },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:read');
      await ownedTask(principal, req.params.taskId);
      const handle = temporal.workflow.getHandle(req.params.taskId);
      const waitMs = req.query.wait * 1000;
      type Outcome = { status: TaskStatus; result?: AnswerResult | AgentResult; error?: ReturnType<typeof failureMessage> };
      // What the task ended with. Called outside the abort scope below: under an aborted signal
      // the describe of a failed task would itself be cancelled (a 503 for a finished task).
      const outcomeOf = async (settled: { result: unknown } | { error: unknown }): Promise<Outcome> => {
        if ('result' in settled) return { status: 'completed', result: settled.result as AnswerResult | AgentResult };
        const err = settled.error;
        if (err instanceof WorkflowNotFoundError) throw notFound(`task ${req.params.taskId}`);
        if (err instanceof WorkflowFailedError) return { status: taskStatusOf((await describe(handle)).status.name), error: failureMessage(err) };
        throw temporalError(err);
      };
      const settle = () => handle.result().then((result) => ({ result }), (error: unknown) => ({ error }));
      // An abort signal ends Temporal's own long poll when our wait (or the client) gives up.
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), Math.max(waitMs, 1));
      req.raw.once('close', () => abort.abort());
      try {
        let settled = await temporal.withAbortSignal(abort.signal, settle);
        if ('error' in settled && abort.signal.aborted) {
          // The wait ran out, perhaps just as the task finished: only a running task is a 202.
          if ((await describe(handle)).status.name === 'RUNNING') return reply.code(202).send({ taskId: req.params.taskId, status: 'running' as const });
          settled = await settle();
        }
        const outcome = await outcomeOf(settled);
        const result = outcome.result ? await revealResult(principal, req.params.taskId, outcome.result) : undefined;
        return reply.code(200).send({ taskId: req.params.taskId, ...outcome, ...(result ? { result } : {}) });
      } finally {
        clearTimeout(timer);
      }
    },
  );

  app.get(
    '/v1/tasks',
    {
      schema: {
        tags: ['tasks'],
        summary: "List the tenant's tasks (running first, then the most recently closed)",
        querystring: taskListQuery,
        response: { 200: taskList, 400: errorBody, 401: errorBody, 403: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:read');
      // Tenant ids are restricted to [a-z0-9_-] by the schema, so they are safe to quote.
      const clauses = [
        `${TENANT_SEARCH_ATTRIBUTE.name} = '${principal.tenantId}'`,
        `${TASK_TYPE_SEARCH_ATTRIBUTE.name} IN (${TASK_TYPES.map((t) => `'${t}'`).join(', ')})`,
      ];
      if (req.query.status) clauses.push(executionStatusFilter(req.query.status));
      const phaseOf = (e: { searchAttributes?: { indexedFields?: Record<string, unknown> | null } | null }) => {
        const field = e.searchAttributes?.indexedFields?.[TASK_STATUS_SEARCH_ATTRIBUTE.name] as { data?: Uint8Array } | undefined;
        try {
          return field?.data ? (JSON.parse(Buffer.from(field.data).toString('utf8')) as string) : undefined;
        } catch {
          return undefined;
        }
      };
      let nextPageToken: Uint8Array | undefined;
      if (req.query.pageToken) {
        // Temporal answers a token it did not issue with an UNKNOWN error, which the client
        // retries for many seconds; ours are signed, so a forged one is refused at once.
        nextPageToken = pageTokens.open(principal.tenantId, req.query.pageToken);
        if (!nextPageToken) throw new ApiError(400, 'invalid_request', 'query.pageToken: not a page token from this API');
      }
      let page;
      try {
        page = await temporal.workflowService.listWorkflowExecutions({
          namespace: deps.config.temporal.namespace,
          // No ORDER BY: not every visibility store supports it; the default order is running first, then newest.
          query: clauses.join(' AND '),
          pageSize: req.query.limit,
          nextPageToken,
        });
      } catch (err) {
        if (req.query.pageToken) throw new ApiError(400, 'invalid_request', 'query.pageToken: not a page token from this API');
        throw temporalError(err);
      }
      const toDate = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
        t?.seconds != null ? new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString() : undefined;
      return {
        tasks: (page.executions ?? []).map((e) => ({
          taskId: e.execution?.workflowId ?? '',
          type: TYPE_OF_WORKFLOW[e.type?.name ?? ''] ?? e.type?.name ?? 'unknown',
          status: refineStatus(taskStatusOf(statusName(e.status)), phaseOf(e)),
          startedAt: toDate(e.startTime) ?? '',
          closedAt: toDate(e.closeTime),
        })),
        nextPageToken: page.nextPageToken?.length ? pageTokens.seal(principal.tenantId, page.nextPageToken) : undefined,
      };
    },
  );

  app.post(
    '/v1/tasks/:taskId/cancel',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Cancel a running task',
        params: taskIdParams,
        response: { 202: taskAccepted, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:write');
      await ownedTask(principal, req.params.taskId);
      const handle = temporal.workflow.getHandle(req.params.taskId);
      const described = await describe(handle);
      const status = taskStatusOf(described.status.name);
      if (status !== 'running') throw conflict('task_not_running', `task is already ${status}`);
      await handle.cancel();
      req.log.info({ taskId: req.params.taskId, tenantId: principal.tenantId }, 'task cancellation requested');
      return reply.code(202).send({ taskId: req.params.taskId, status, links: linksFor(req.params.taskId) });
    },
  );
};
