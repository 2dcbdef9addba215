// Agent tasks beyond start/inspect: pending approvals across tasks, decisions (a Workflow
// Update, validated in the workflow before it touches history), follow-up messages, the
// event stream (server-sent events) and an operator's compensation of an executed action.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ledgerKey } from '../../activities/agent/actions.js';
import { EXTEND_BUDGET, type ApprovalSignal, type ApprovalStatus } from '../../contracts/approvals.js';
import type { compensateExecutedAction } from '../../workflows/compensate.js';
import { agentEventsQuery, decideApprovalUpdate, sendMessageUpdate, type AgentEvent } from '../../workflows/messages.js';
import { signApprovalToken } from '../../infra/approval-tokens.js';
import { requirePerson, requireRole, type Principal } from '../auth.js';
import {
  approvalList,
  approvalListQuery,
  approvalParams,
  approvalTokenRequest,
  approvalTokenResponse,
  compensationResponse,
  decisionRequest,
  decisionResponse,
  errorBody,
  eventsHeaders,
  eventsQuery,
  messageAccepted,
  messageRequest,
  taskIdParams,
} from '../contracts.js';
import { ApiError, assertFitsTemporal, conflict, notFound, temporalError, updateRefusal } from '../errors.js';
import { ownedTask } from '../owned-task.js';
import { streamAnswerEvents } from '../answer-events.js';
import { PiiReveal } from '../reveal.js';
import { principalOf, type ApiDeps } from '../route-deps.js';

interface ApprovalRow {
  task_id: string;
  approval_id: string;
  tool: string;
  arguments: Record<string, unknown>;
  arguments_hash: string;
  preview: { summary: string; changes: unknown };
  rationale: string;
  provenance: unknown[];
  required_role: string;
  approvals_needed: number;
  decided_by: string[];
  status: ApprovalStatus;
  reason: string | null;
  requested_at: Date;
  expires_at: Date;
}

export const agentRoutes = (deps: ApiDeps): FastifyPluginAsyncZod => async (app) => {
  const { temporal, db } = deps;
  const reveal = new PiiReveal(db, deps.keyRing);

  async function agentTask(principal: Principal, taskId: string): Promise<void> {
    const task = await ownedTask(db, principal, taskId);
    if (task.type !== 'agent') throw new ApiError(400, 'invalid_request', `task ${taskId} is an ${task.type} task; only agent tasks have approvals and messages`);
  }

  /**
   * The approval as the index knows it, and who may decide it: write actions are decided by
   * people; a budget extension by the task's owner, which may be a backend.
   */
  async function decidable(principal: Principal, taskId: string, approvalId: string): Promise<{ tool: string; status: string; argumentsHash: string; userId?: string }> {
    await agentTask(principal, taskId);
    const { rows } = await db.query<{ tool: string; status: string; arguments_hash: string }>(
      'SELECT tool, status, arguments_hash FROM approvals WHERE task_id = $1 AND approval_id = $2',
      [taskId, approvalId],
    );
    if (!rows[0]) throw notFound(`approval ${approvalId}`);
    const userId = rows[0].tool === EXTEND_BUDGET ? principal.userId : requirePerson(principal);
    return { tool: rows[0].tool, status: rows[0].status, argumentsHash: rows[0].arguments_hash, userId };
  }

  app.get(
    '/v1/approvals',
    {
      schema: {
        tags: ['approvals'],
        summary: "The tenant's approvals across tasks (pending by default), oldest first",
        querystring: approvalListQuery,
        response: { 200: approvalList, 400: errorBody, 401: errorBody, 403: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'approvals:read');
      const { rows } = await db.query<ApprovalRow>(
        `SELECT * FROM approvals WHERE tenant_id = $1 AND status = $2 ORDER BY requested_at, approval_id LIMIT $3`,
        [principal.tenantId, req.query.status, req.query.limit],
      );
      const approvals = rows.map((r) => ({
          taskId: r.task_id,
          approvalId: r.approval_id,
          tool: r.tool,
          arguments: r.arguments,
          argumentsHash: r.arguments_hash,
          preview: r.preview,
          rationale: r.rationale,
          provenance: r.provenance,
          requiredRole: r.required_role,
          approvalsNeeded: r.approvals_needed,
          approvedBy: r.decided_by,
          status: r.status,
          reason: r.reason ?? undefined,
          requestedAt: r.requested_at.toISOString(),
          expiresAt: r.expires_at.toISOString(),
        }));
      return { approvals: await Promise.all(approvals.map((a) => reveal.forApprover(principal, a.taskId, a))) };
    },
  );

  app.post(
    '/v1/tasks/:taskId/approvals/:approvalId',
    {
      schema: {
        tags: ['approvals'],
        summary: 'Approve or reject a pending action',
        description:
          'Send the argumentsHash of what you reviewed. Approving waits until the action has run and returns its result. ' +
          'Approving with `arguments` re-validates them and opens a new approval showing the edit (`newApprovalId`).',
        params: approvalParams,
        body: decisionRequest,
        response: { 200: decisionResponse, 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 413: errorBody, 503: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      const { taskId, approvalId } = req.params;
      assertFitsTemporal(req.body, 'body');
      const { userId } = await decidable(principal, taskId, approvalId);
      let outcome;
      try {
        outcome = await temporal.workflow.getHandle(taskId).executeUpdate(decideApprovalUpdate, {
          args: [{ ...req.body, approvalId, approver: { keyId: principal.keyId, ...(userId ? { userId } : {}), tenantId: principal.tenantId, roles: principal.roles } }],
        });
      } catch (err) {
        const mapped = updateRefusal(err);
        if (mapped) throw mapped;
        if (err instanceof WorkflowNotFoundError || /already completed|not found/i.test(String(err))) {
          // The task has finished: the approval (if it existed) was decided or expired.
          const { rows } = await db.query<{ status: string }>('SELECT status FROM approvals WHERE task_id = $1 AND approval_id = $2', [taskId, approvalId]);
          if (rows[0]) throw conflict('already_decided', `approval ${approvalId} is ${rows[0].status} and its task has finished`);
          throw notFound(`approval ${approvalId}`);
        }
        throw temporalError(err);
      }
      if (outcome.status === 'pending' && outcome.error) {
        throw new ApiError(400, 'invalid_request', `arguments: ${outcome.error}`);
      }
      req.log.info({ taskId, approvalId, decision: req.body.decision, status: outcome.status, by: principal.keyId, userId }, 'approval decided');
      // What the action returned carries placeholders, like an answer: restored for pii:read.
      return { taskId, ...outcome, ...(await reveal.forCaller(principal, taskId, { result: outcome.result, error: outcome.error })) };
    },
  );

  app.post(
    '/v1/tasks/:taskId/approvals/:approvalId/token',
    {
      schema: {
        tags: ['approvals'],
        summary: 'An approval token: your decision, signed, to send as a Signal from the Temporal UI',
        description:
          'A Signal carries no caller identity, so the workflow counts a Signal decision only with a token signed here for you, this approval, ' +
          'the argumentsHash you reviewed and the decision; it expires in minutes. Send `signal.input` as the `approvalDecision` Signal of the workflow ' +
          '(the Temporal UI encodes it through the codec endpoint). Edits of arguments go through POST /v1/tasks/{taskId}/approvals/{approvalId}.',
        params: approvalParams,
        body: approvalTokenRequest,
        response: { 200: approvalTokenResponse, 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      const { taskId, approvalId } = req.params;
      const approval = await decidable(principal, taskId, approvalId);
      if (approval.status !== 'pending') throw conflict('already_decided', `approval ${approvalId} is ${approval.status}`);
      if (approval.argumentsHash !== req.body.argumentsHash) {
        throw conflict('arguments_changed', 'argumentsHash does not match the pending arguments: reload the approval and decide on what it shows');
      }
      if (!approval.userId) throw new ApiError(403, 'forbidden', 'a Signal decision needs a person: use an API key bound to you or sign in with OpenID Connect');
      const { token, expiresAt } = await signApprovalToken(
        deps.keyRing,
        { taskId, tenantId: principal.tenantId, approvalId, argumentsHash: req.body.argumentsHash, decision: req.body.decision, userId: approval.userId, keyId: principal.keyId, roles: principal.roles },
        deps.config.api.approvalTokenMinutes,
      );
      req.log.info({ taskId, approvalId, decision: req.body.decision, by: principal.keyId, userId: approval.userId }, 'approval token issued');
      const input: ApprovalSignal = { approvalId, decision: req.body.decision, argumentsHash: req.body.argumentsHash, ...(req.body.reason ? { reason: req.body.reason } : {}), token };
      return { token, expiresAt, signal: { name: 'approvalDecision' as const, workflowId: taskId, input } };
    },
  );

  app.post(
    '/v1/tasks/:taskId/messages',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Send a follow-up message (or the answer to the agent\'s question)',
        params: taskIdParams,
        body: messageRequest,
        response: { 202: messageAccepted, 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 503: errorBody },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:write');
      await agentTask(principal, req.params.taskId);
      try {
        const r = await temporal.workflow.getHandle(req.params.taskId).executeUpdate(sendMessageUpdate, { args: [{ text: req.body.text }] });
        return reply.code(202).send({ taskId: req.params.taskId, accepted: r.accepted, turn: r.turn });
      } catch (err) {
        const mapped = updateRefusal(err);
        if (mapped) throw mapped;
        if (err instanceof WorkflowNotFoundError || /already completed/i.test(String(err))) throw conflict('task_finished', 'the task has finished');
        throw temporalError(err);
      }
    },
  );

  app.get(
    '/v1/tasks/:taskId/events',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Server-sent events: the guarded answer sentence by sentence; for agents also steps and approvals; the end',
        description:
          'Answer tasks: `answer_delta` (a sentence released after the output checks passed on it), `answer_reset` (a failure policy asked again: drop what came before), `answer_held` (a check held the rest back), `review_requested`, `final_answer`, `task_finished`. Agent tasks: steps, approvals, `answer_delta` per sentence of a checked answer, `final_answer`, `task_finished`. Each event has an `id`; reconnect with `Last-Event-ID` or `?since=` to resume.',
        params: taskIdParams,
        querystring: eventsQuery,
        headers: eventsHeaders,
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:read');
      const task = await ownedTask(db, principal, req.params.taskId);
      const lastEventId = req.headers['last-event-id'];
      let since = lastEventId !== undefined ? Number(lastEventId) : (req.query.since ?? 0);
      const handle = temporal.workflow.getHandle(req.params.taskId);

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      let open = true;
      req.raw.once('close', () => (open = false));
      if (task.type === 'answer') {
        try {
          await streamAnswerEvents({ db, temporal, reveal, principal, taskId: req.params.taskId, since, res, isOpen: () => open });
        } catch (err) {
          res.write(`event: error\ndata: ${JSON.stringify({ message: err instanceof Error ? err.message : String(err) })}\n\n`);
        } finally {
          res.end();
        }
        return;
      }
      let lastWrite = Date.now();
      const send = async (e: AgentEvent) => {
        // Answers (and their sentences) carry placeholders: restored for a caller with pii:read;
        // approval events quote the approval (its preview, the action's summary): as the approval is.
        const data =
          e.type === 'final_answer' || e.type === 'answer_delta'
            ? await reveal.forCaller(principal, req.params.taskId, e.data)
            : e.type === 'approval_requested' || e.type === 'approval_decided'
              ? await reveal.forApprover(principal, req.params.taskId, e.data)
              : e.data;
        res.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ ...data, seq: e.seq, at: e.at })}\n\n`);
        lastWrite = Date.now();
      };
      try {
        while (open) {
          let batch: AgentEvent[];
          try {
            batch = await handle.query(agentEventsQuery, since);
          } catch (err) {
            res.write(`event: error\ndata: ${JSON.stringify({ message: err instanceof Error ? err.message : String(err) })}\n\n`);
            break;
          }
          for (const e of batch) await send(e);
          if (batch.length) since = batch[batch.length - 1]!.seq;
          if (batch.some((e) => e.type === 'task_finished')) break;
          if (Date.now() - lastWrite > 15_000) {
            res.write(': keep-alive\n\n');
            lastWrite = Date.now();
          }
          await new Promise((r) => setTimeout(r, 250));
        }
      } finally {
        res.end();
      }
    },
  );

  app.post(
    '/v1/tasks/:taskId/actions/:approvalId/compensate',
    {
      schema: {
        tags: ['approvals'],
        summary: "Undo an executed action through its tool's compensation (operators; once)",
        params: approvalParams,
        response: { 200: compensationResponse, 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 413: errorBody, 503: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'admin');
      const { taskId, approvalId } = req.params;
      await agentTask(principal, taskId);
      // Only an action that exists and ran gets a compensation workflow: an unknown id starts nothing.
      const { rows } = await db.query<{ status: string }>('SELECT status FROM approvals WHERE task_id = $1 AND approval_id = $2 AND tenant_id = $3', [
        taskId,
        approvalId,
        principal.tenantId,
      ]);
      if (!rows[0]) throw notFound(`approval ${approvalId} of task ${taskId}`);
      const executed = await db.query('SELECT 1 FROM action_ledger WHERE idempotency_key = $1 AND tenant_id = $2', [ledgerKey(taskId, approvalId), principal.tenantId]);
      if (!executed.rowCount) throw new ApiError(400, 'not_compensable', `approval ${approvalId} is ${rows[0].status}; only an executed action can be compensated`);
      let outcome;
      try {
        // A workflow of its own: durable, visible in the Temporal UI, and started once per action.
        outcome = await temporal.workflow.execute<typeof compensateExecutedAction>('compensateExecutedAction', {
          workflowId: `compensate.${taskId}.${approvalId}`,
          taskQueue: deps.config.temporal.taskQueue,
          args: [{ tenantId: principal.tenantId, taskId, approvalId }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        });
      } catch (err) {
        throw temporalError(err);
      }
      if (!outcome.ok) throw new ApiError(400, 'not_compensable', outcome.error);
      req.log.info({ taskId, approvalId, by: principal.keyId }, 'action compensated');
      return { taskId, approvalId, summary: outcome.summary, result: outcome.result, replayed: outcome.replayed };
    },
  );
};
