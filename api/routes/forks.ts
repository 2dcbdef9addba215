// What-if forks: a finished task started again from one of its steps with some changes — another
// model, pinned prompt versions, a new input, other retrieval options. The fork is a task of
// its own (its own id, row and workflow; every task route serves it); the steps before the fork
// point are served from the original's recorded calls (activities/forks/recorded-calls.ts), the
// rest run live. The original is never touched. And an operator's view of a task's history,
// which `gatehouse replay` replays against the current code.
import { randomUUID, createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { taskSearchAttributes } from '../../contracts/search-attributes.js';
import { GatewayLimits } from '../../activities/gateway/limits/index.js';
import { PromptStore } from '../../activities/prompts/store.js';
import { recordedCalls, storeRecordedCalls } from '../../activities/forks/recorded-calls.js';
import { PiiVault } from '../../activities/guardrails/vault.js';
import { inTransaction } from '../../infra/db/pool.js';
import { metrics } from '../../infra/metrics.js';
import { startSummaries } from '../../workflows/policy/summaries.js';
import { agentStatusQuery, answerStatusQuery, type AgentResult, type AgentTaskInput, type AnswerResult, type AnswerTaskInput, type StepRecord, type Usage } from '../../workflows/messages.js';
import type { runAgent } from '../../workflows/agent/index.js';
import type { answerQuestion } from '../../workflows/answer.js';
import { requireRole, type Principal } from '../auth.js';
import { errorBody, forkAccepted, forkDiff, forkList, forkParams, forkRequest, idempotencyHeaders, taskHistory, taskIdParams, type ForkRequest } from '../contracts.js';
import { ApiError, assertFitsTemporal, conflict, gatewayRefusal, notFound, temporalError } from '../errors.js';
import { ownedTask } from '../owned-task.js';
import { PiiReveal } from '../reveal.js';
import { principalOf, type ApiDeps } from '../route-deps.js';
import { taskStatusOf } from '../task-status.js';

const WORKFLOW_OF = { answer: 'answerQuestion', agent: 'runAgent' } as const;

/** A 400 that names the field, as the schema's own errors do. */
function badField(field: string, message: string): ApiError {
  return new ApiError(400, 'invalid_request', `${field}: ${message}`, { issues: [{ field, message }] });
}

interface ForkRow {
  id: string;
  original_task_id: string;
  fork_task_id: string;
  at_step: number;
  changes: Record<string, unknown>;
  created_at: Date;
}

export const forkRoutes = (deps: ApiDeps): FastifyPluginAsyncZod => async (app) => {
  const { temporal, db } = deps;
  const limits = new GatewayLimits(db);
  const prompts = new PromptStore(db);
  const vault = new PiiVault(db, deps.keyRing);
  const reveal = new PiiReveal(db, deps.keyRing);

  async function describe(handle: WorkflowHandle) {
    try {
      return await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notFound(`task ${handle.workflowId}`);
      throw temporalError(err);
    }
  }

  /** The original's input as its (latest) run started: a run that continued as new carries its state. */
  async function startedInput(handle: WorkflowHandle) {
    const history = await handle.fetchHistory().catch((err: unknown) => {
      throw temporalError(err);
    });
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    if (!started) throw new ApiError(500, 'internal', 'the task history has no start event');
    const input = await decodeFromPayloadsAtIndex<AnswerTaskInput | AgentTaskInput>(temporal.options.loadedDataConverter, 0, started.input?.payloads);
    return { history, input };
  }

  /** The fork's input: the original's, with the changes (checked against the fork point first). */
  function forkInput(type: string, input: AnswerTaskInput | AgentTaskInput, steps: StepRecord[], body: ForkRequest): AnswerTaskInput | AgentTaskInput {
    const { atStep, changes } = body;
    if (atStep >= steps.length) throw badField('atStep', `must be a step of the original, 0 to ${steps.length - 1} (it has ${steps.length} steps)`);
    // The steps before the fork point read the original input: a new one starts from the first.
    if (changes.input !== undefined && atStep !== 0) throw badField('changes.input', 'a new input is read from the first step on: fork at step 0');
    const promptVersions = changes.prompt ? { promptVersions: changes.prompt } : {};
    if (type === 'answer') {
      const answer = input as AnswerTaskInput;
      if (changes.retrieval) {
        const retrieve = steps.findIndex((s) => s.name === 'retrieve');
        if (retrieve < 0 || retrieve < atStep) throw badField('changes.retrieval', `retrieval runs at step ${retrieve < 0 ? 'none' : retrieve}: fork at or before it`);
      }
      return {
        ...answer,
        question: changes.input ?? answer.question,
        options: { ...answer.options, ...changes.retrieval, ...(changes.model ? { model: changes.model } : {}), ...promptVersions },
      };
    }
    if (changes.retrieval) throw badField('changes.retrieval', 'an agent task has no retrieval options (its search_documents tool does)');
    const agent = input as AgentTaskInput;
    // The original's deadline has passed or will soon: the fork runs without one.
    const { deadlineAt: _deadline, ...options } = agent.options;
    return { ...agent, input: changes.input ?? agent.input, options: { ...options, ...(changes.model ? { model: changes.model } : {}), ...promptVersions } };
  }

  /** What a fork records of its changes: never the new input's text. */
  function recordedChanges(changes: ForkRequest['changes']): Record<string, unknown> {
    const { input, ...rest } = changes;
    return { ...rest, ...(input !== undefined ? { input: true } : {}) };
  }

  app.post(
    '/v1/tasks/:taskId/fork',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Fork a finished task at one of its steps, with changes (what-if)',
        description:
          "Starts a new task of the same type: the steps before `atStep` are served from the original's recorded results, the rest run live with the changes. " +
          'Writes the original executed are never executed again (the action ledger returns their recorded results); new writes wait for approval. ' +
          'With an Idempotency-Key header, a retried request returns the fork the first one started.',
        params: taskIdParams,
        body: forkRequest,
        headers: idempotencyHeaders,
        response: { 202: forkAccepted, 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 413: errorBody, 422: errorBody, 429: errorBody, 503: errorBody },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:write');
      const original = req.params.taskId;
      const task = await ownedTask(db, principal, original);
      if (original.includes('.')) throw badField('taskId', 'a sub-task runs inside its task: fork the task');
      const handle = temporal.workflow.getHandle(original);
      const described = await describe(handle);
      if (described.status.name !== 'COMPLETED') throw conflict('task_not_finished', `task ${original} is ${taskStatusOf(described.status.name)}: only a completed task can be forked`);
      const result = (await handle.result()) as AnswerResult | AgentResult;
      const { history, input } = await startedInput(handle);
      const body = req.body;
      // A fork's own history holds its seeded calls as replayRecordedCall, not as the calls they
      // stand for: a fork of it can start from step 0 only (or fork the original instead).
      if (input.fork && input.fork.atStep > 0 && body.atStep > 0) {
        throw conflict('fork_of_fork', `task ${original} is a fork of ${input.fork.of} at step ${input.fork.atStep}: fork it at step 0, or fork ${input.fork.of}`);
      }
      const next = forkInput(task.type, input, result.steps, body);
      assertFitsTemporal({ input: next }, 'body');
      // The fork's pins (the original's, with changes.prompt over them) are read by its activities from its tasks row.
      const pins = next.options.promptVersions;
      const pinProblem = body.changes.prompt && (await prompts.pinProblem(principal.tenantId, body.changes.prompt, 'body.changes.prompt'));
      if (pinProblem) throw new ApiError(400, 'invalid_request', pinProblem);

      // With an Idempotency-Key, the fork's ids are derived from (tenant, original, key): a retry
      // after a crash anywhere in this handler lands on the same fork, which Temporal will not start twice.
      const key = req.headers['idempotency-key'];
      const requestHash = sha256(JSON.stringify({ fork: original, ...body }));
      const keyed = key && sha256(`${principal.tenantId}\u0000fork\u0000${original}\u0000${key}`).slice(0, 32);
      const forkId = keyed ? `fork_${keyed}` : `fork_${randomUUID().replaceAll('-', '')}`;
      const forkTaskId = keyed ? `task_${keyed}` : `task_${randomUUID().replaceAll('-', '')}`;
      const refused = await limits.refusalFor({ ...principal }, body.changes.model);
      if (refused) throw gatewayRefusal(refused)!;
      const recorded = await inTransaction(db, async (tx) => {
        const inserted = await tx.query(
          `INSERT INTO tasks (id, tenant_id, type, request_hash, key_id, user_id, application, prompt_versions) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT DO NOTHING RETURNING id`,
          [forkTaskId, principal.tenantId, task.type, requestHash, principal.keyId, principal.userId ?? null, principal.application ?? null, pins ? JSON.stringify(pins) : null],
        );
        if (!inserted.rowCount) return false;
        await tx.query('INSERT INTO task_forks (id, tenant_id, original_task_id, fork_task_id, at_step, changes) VALUES ($1, $2, $3, $4, $5, $6)', [
          forkId,
          principal.tenantId,
          original,
          forkTaskId,
          body.atStep,
          JSON.stringify(recordedChanges(body.changes)),
        ]);
        await storeRecordedCalls(tx, forkId, recordedCalls(history));
        return true;
      });
      if (!recorded) {
        // A retried request: the same fork, unless the key was used for another one.
        const { rows } = await db.query<{ request_hash: string }>('SELECT request_hash FROM tasks WHERE id = $1 AND tenant_id = $2', [forkTaskId, principal.tenantId]);
        if (rows[0]?.request_hash !== requestHash) throw new ApiError(422, 'idempotency_key_reused', 'this Idempotency-Key was used for a different request');
      }
      // The recorded results hold the original's placeholders: the fork reads the same values.
      await vault.copyTask({ tenantId: principal.tenantId, from: original, to: forkTaskId });

      const seeded = { ...next, fork: { forkId, of: original, atStep: body.atStep } };
      const staticSummary = startSummaries.subtask(original, `what-if fork at step ${body.atStep} (${result.steps[body.atStep]!.name})${body.changes.model ? ` with ${body.changes.model}` : ''}`);
      const common = { workflowId: forkTaskId, taskQueue: deps.config.temporal.taskQueue, typedSearchAttributes: taskSearchAttributes(principal.tenantId, task.type as 'answer' | 'agent'), staticSummary };
      try {
        if (task.type === 'answer') await temporal.workflow.start<typeof answerQuestion>(WORKFLOW_OF.answer, { ...common, args: [seeded as AnswerTaskInput] });
        else await temporal.workflow.start<typeof runAgent>(WORKFLOW_OF.agent, { ...common, args: [seeded as AgentTaskInput] });
      } catch (err) {
        // Already started: a retried request (same Idempotency-Key).
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
          // A keyed fork keeps its rows: the client's retry starts it.
          if (!keyed) {
            await db.query('DELETE FROM task_forks WHERE id = $1', [forkId]).catch(() => undefined);
            await db.query('DELETE FROM tasks WHERE id = $1', [forkTaskId]).catch(() => undefined);
          }
          throw temporalError(err);
        }
      }
      const status = taskStatusOf((await describe(temporal.workflow.getHandle(forkTaskId))).status.name);
      if (recorded) metrics.tasksStarted.inc({ type: task.type, tenant: principal.tenantId });
      req.log.info({ taskId: forkTaskId, forkOf: original, atStep: body.atStep, replay: !recorded }, 'task forked');
      return reply.code(202).send({
        forkId,
        taskId: forkTaskId,
        of: original,
        atStep: body.atStep,
        status,
        links: { self: `/v1/tasks/${forkTaskId}`, result: `/v1/tasks/${forkTaskId}/result`, cancel: `/v1/tasks/${forkTaskId}/cancel`, diff: `/v1/tasks/${original}/forks/${forkId}/diff` },
      });
    },
  );

  const forkView = (r: ForkRow) => ({ forkId: r.id, taskId: r.fork_task_id, of: r.original_task_id, atStep: r.at_step, changes: r.changes, createdAt: r.created_at.toISOString() });

  app.get(
    '/v1/tasks/:taskId/forks',
    {
      schema: { tags: ['tasks'], summary: "A task's what-if forks, newest first", params: taskIdParams, response: { 200: forkList, 401: errorBody, 403: errorBody, 404: errorBody } },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:read');
      await ownedTask(db, principal, req.params.taskId);
      const { rows } = await db.query<ForkRow>('SELECT * FROM task_forks WHERE tenant_id = $1 AND original_task_id = $2 ORDER BY created_at DESC LIMIT 200', [
        principal.tenantId,
        req.params.taskId,
      ]);
      return { forks: rows.map(forkView) };
    },
  );

  /** One side of a diff: the result once finished, else the steps and usage so far. */
  async function side(principal: Principal, taskId: string, type: string) {
    const handle = temporal.workflow.getHandle(taskId);
    const status = taskStatusOf((await describe(handle)).status.name);
    if (status === 'completed') {
      const result = (await handle.result()) as AnswerResult | AgentResult;
      const answer = await reveal.forCaller(principal, taskId, result.answer);
      const citations = 'citations' in result ? result.citations.map(({ index, chunkId, documentId, title }) => ({ index, chunkId, documentId, title })) : undefined;
      return { view: { taskId, status, answer, citations, model: result.model, usage: result.usage }, steps: result.steps };
    }
    const s = await (type === 'agent' ? handle.query(agentStatusQuery) : handle.query(answerStatusQuery)).catch(() => ({ steps: [] as StepRecord[], usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 } }));
    return { view: { taskId, status, usage: s.usage }, steps: s.steps };
  }

  app.get(
    '/v1/tasks/:taskId/forks/:forkId/diff',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Compare a fork with its original: answers, steps, tokens and cost',
        params: forkParams,
        response: { 200: forkDiff, 401: errorBody, 403: errorBody, 404: errorBody, 503: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:read');
      const task = await ownedTask(db, principal, req.params.taskId);
      const { rows } = await db.query<ForkRow>('SELECT * FROM task_forks WHERE id = $1 AND tenant_id = $2 AND original_task_id = $3', [
        req.params.forkId,
        principal.tenantId,
        req.params.taskId,
      ]);
      const fork = rows[0];
      if (!fork) throw notFound(`fork ${req.params.forkId}`);
      const [a, b] = await Promise.all([side(principal, fork.original_task_id, task.type), side(principal, fork.fork_task_id, task.type)]);
      const chunks = (c: { chunkId: string }[] | undefined) => new Set((c ?? []).map((x) => x.chunkId));
      const [ca, cb] = [chunks(a.view.citations), chunks(b.view.citations)];
      const steps = Array.from({ length: Math.max(a.steps.length, b.steps.length) }, (_, index) => {
        const [o, f] = [a.steps[index], b.steps[index]];
        return { index, seeded: index < fork.at_step, differs: !o || !f || comparable(o) !== comparable(f), original: o && stepSide(o), fork: f && stepSide(f) };
      });
      return {
        forkId: fork.id,
        atStep: fork.at_step,
        original: a.view,
        fork: b.view,
        answer: { same: a.view.answer === b.view.answer, citationsOnlyInOriginal: [...ca].filter((c) => !cb.has(c)), citationsOnlyInFork: [...cb].filter((c) => !ca.has(c)) },
        steps,
        usage: { original: a.view.usage, fork: b.view.usage, delta: delta(a.view.usage, b.view.usage) },
      };
    },
  );

  app.get(
    '/v1/tasks/:taskId/history',
    {
      schema: {
        tags: ['tasks'],
        summary: "A task's workflow history, for replaying it against new code (operators)",
        description: 'The current run of the task, as Temporal exports it; payloads stay encrypted (replay with the workers\' payload keys: `gatehouse replay`).',
        params: taskIdParams,
        response: { 200: taskHistory, 401: errorBody, 403: errorBody, 404: errorBody, 503: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      // The deployment's operators, whatever the tenant: the history is ciphertext to anyone without the keys.
      requireRole(principal, 'operator');
      const handle = temporal.workflow.getHandle(req.params.taskId);
      const described = await describe(handle);
      const history = await handle.fetchHistory().catch((err: unknown) => {
        throw temporalError(err);
      });
      return { taskId: req.params.taskId, runId: described.runId, history: JSON.parse(historyToJSON(history)) as Record<string, unknown> };
    },
  );
};

function stepSide(s: StepRecord) {
  return { name: s.name, status: s.status, model: s.model, usage: s.usage };
}

/** What makes two steps the same: not when they ran, nor how long they took. */
function comparable(s: StepRecord): string {
  return JSON.stringify({ name: s.name, status: s.status, model: s.model, usage: s.usage, detail: s.detail, error: s.error });
}

function delta(a: Usage, b: Usage) {
  return { inputTokens: b.inputTokens - a.inputTokens, outputTokens: b.outputTokens - a.outputTokens, costUsd: Math.round((b.costUsd - a.costUsd) * 1e8) / 1e8 };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
