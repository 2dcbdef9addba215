// Feedback on a task's answers: POST /v1/tasks/{id}/feedback (a score 1–5 or thumbs, an optional
// comment, which answer), GET the task's feedback, GET /v1/feedback/summary by prompt version
// or model. Whoever may read a task's answer may rate it (tasks:read); the source is the caller:
// a person (an end user signed in, or a key bound to them) or a backend (a key bound to no one).
// The rating is stored with the model and prompt version that wrote the answer and recorded as a
// routing preference (activities/feedback/). A comment's PII is masked before it is stored; the
// comment is never logged.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { answerProvenance, feedbackByModel, feedbackByPromptVersion, feedbackPreference, listFeedback, recordFeedback } from '../../activities/feedback/feedback.js';
import { PreferenceRouter } from '../../activities/router/preferences.js';
import { agentStatusQuery, type AnswerResult } from '../../workflows/messages.js';
import { requireRole } from '../auth.js';
import { errorBody, feedbackList, feedbackRecorded, feedbackRequest, feedbackSummary, feedbackSummaryQuery, taskIdParams } from '../contracts.js';
import { ApiError, temporalError } from '../errors.js';
import { ownedTask } from '../owned-task.js';
import { principalOf, type ApiDeps } from '../route-deps.js';

const refusals = { 400: errorBody, 401: errorBody, 403: errorBody };

export const feedbackRoutes = (deps: ApiDeps): FastifyPluginAsyncZod => async (app) => {
  const router = deps.embedder ? new PreferenceRouter(deps.db, deps.embedder, { log: deps.log }) : undefined;

  /** How many answers the task has given: one for an answer task, the agent's count from its status. */
  async function answersGiven(taskId: string, type: string): Promise<number | undefined> {
    if (type !== 'agent') return 1;
    try {
      return (await deps.temporal.workflow.getHandle(taskId).query(agentStatusQuery)).answers.length;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw temporalError(err);
    }
  }

  /** An answer task's question as the workflow holds it (masked), once it has finished; undefined otherwise. */
  async function questionOf(taskId: string, type: string): Promise<string | undefined> {
    if (type !== 'answer') return undefined;
    const handle = deps.temporal.workflow.getHandle(taskId);
    if ((await handle.describe()).status.name !== 'COMPLETED') return undefined;
    const result = (await handle.result()) as AnswerResult;
    return result.question.standalone ?? result.question.original;
  }

  app.post(
    '/v1/tasks/:taskId/feedback',
    {
      schema: {
        tags: ['feedback'],
        summary: "Rate one of a task's answers: a score (1–5) or thumbs, and an optional comment",
        params: taskIdParams,
        body: feedbackRequest,
        response: { 201: feedbackRecorded, ...refusals, 404: errorBody, 503: errorBody },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:read');
      const { taskId } = req.params;
      const task = await ownedTask(deps.db, principal, taskId);
      const given = await answersGiven(taskId, task.type);
      if (given === 0) throw new ApiError(400, 'invalid_request', 'body.turn: the task has not answered yet', { issues: [{ field: 'body.turn', message: 'the task has not answered yet' }] });
      if (req.body.turn !== undefined && given !== undefined && req.body.turn > given) {
        const message = `the task has given ${given} answer${given === 1 ? '' : 's'}`;
        throw new ApiError(400, 'invalid_request', `body.turn: ${message}`, { issues: [{ field: 'body.turn', message }] });
      }
      const provenance = await answerProvenance(deps.db, principal.tenantId, taskId);
      const rating = req.body.score !== undefined ? { score: req.body.score } : { thumbs: req.body.thumbs! };
      const recorded = await recordFeedback(deps.db, {
        tenantId: principal.tenantId,
        taskId,
        turn: req.body.turn ?? given ?? 1,
        rating,
        comment: req.body.comment,
        source: principal.userId ? 'end_user' : 'backend',
        createdBy: principal.keyId,
        ...provenance,
      });
      req.log.info({ taskId, feedbackId: recorded.id, verdict: recorded.verdict, model: provenance.model }, 'feedback recorded');

      // The router learns from it as from a review; a failure to record it never fails the feedback.
      let preference: string | null = null;
      try {
        const query = router && provenance.model ? await questionOf(taskId, task.type) : undefined;
        const pref = query && feedbackPreference({ model: provenance.model!, query, score: recorded.score, taskId });
        if (pref) preference = (await router!.record(principal.tenantId, { ...pref, createdBy: principal.keyId })).id;
      } catch (err) {
        req.log.warn({ taskId, err: err instanceof Error ? err.message : String(err) }, 'could not record the feedback as a preference');
      }
      return reply.code(201).send({ ...recorded, preference });
    },
  );

  app.get(
    '/v1/tasks/:taskId/feedback',
    { schema: { tags: ['feedback'], summary: "A task's feedback, oldest first (comments with their PII masked)", params: taskIdParams, response: { 200: feedbackList, ...refusals, 404: errorBody } } },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:read');
      await ownedTask(deps.db, principal, req.params.taskId);
      return { taskId: req.params.taskId, feedback: await listFeedback(deps.db, principal.tenantId, req.params.taskId) };
    },
  );

  app.get(
    '/v1/feedback/summary',
    {
      schema: {
        tags: ['feedback'],
        summary: "The tenant's feedback by the prompt version or the model that wrote the answers",
        querystring: feedbackSummaryQuery,
        response: { 200: feedbackSummary, ...refusals },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'usage:read');
      const groups = req.query.by === 'model' ? await feedbackByModel(deps.db, principal.tenantId) : await feedbackByPromptVersion(deps.db, principal.tenantId);
      return { by: req.query.by, groups };
    },
  );
};
