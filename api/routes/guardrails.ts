// Guardrails over HTTP: a reviewer's answer to a task handed off to a human (an Update the
// workflow validates), the tenant's versioned guardrail policy, and the quarantine of
// untrusted text held back from the model.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { GuardrailPolicies, guardrailPolicySchema, INVALID_GUARDRAIL_POLICY } from '../../activities/guardrails/policy.js';
import { PreferenceRouter } from '../../activities/router/preferences.js';
import { reviewAnswerUpdate } from '../../workflows/messages.js';
import { requireRole } from '../auth.js';
import { errorBody, reviewRequest, reviewResponse, taskIdParams } from '../contracts.js';
import { ApiError, conflict, temporalError, updateRefusal } from '../errors.js';
import { ownedTask } from '../owned-task.js';
import { cacheKeysOf, evictCorrected } from '../review-cache.js';
import { answerSteps, modelUnderReview, recordReviewPreference } from '../review-preferences.js';
import { principalOf, type ApiDeps } from '../route-deps.js';

const policyView = z.object({ version: z.number().int(), policy: z.record(z.string(), z.unknown()) }).meta({ id: 'GuardrailPolicy' });

export const guardrailRoutes = (deps: ApiDeps): FastifyPluginAsyncZod => async (app) => {
  const { temporal, db } = deps;
  const policies = new GuardrailPolicies(db, 0);
  // A reviewer's decision is also a preference for the router (api/review-preferences.ts).
  const preferences = deps.embedder ? new PreferenceRouter(db, deps.embedder, { log: deps.log }) : undefined;

  app.post(
    '/v1/tasks/:taskId/review',
    {
      schema: {
        tags: ['guardrails'],
        summary: 'Answer a task waiting for a reviewer (needs_review): approve its candidate answer or send an edited one',
        params: taskIdParams,
        body: reviewRequest,
        response: { 200: reviewResponse, 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 503: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'reviews:write');
      const { taskId } = req.params;
      const task = await ownedTask(db, principal, taskId);
      const handle = temporal.workflow.getHandle(taskId);
      // Read before the Update: once decided, the review is no longer waiting and its candidate's model is one step among many.
      // One read of the answer's steps: which model wrote the candidate (a preference), which cache entries it came from (a correction evicts them).
      const steps = await answerSteps(handle, task.type);
      const model = preferences && steps ? modelUnderReview(steps) : undefined;
      const cached = req.body.decision === 'edit' && steps ? cacheKeysOf(steps) : [];
      try {
        const outcome = await handle.executeUpdate(reviewAnswerUpdate, {
          args: [{ ...req.body, reviewer: { keyId: principal.keyId, tenantId: principal.tenantId, roles: principal.roles } }],
        });
        req.log.info({ taskId, decision: req.body.decision, by: principal.keyId }, 'review decided');
        // The corrected answer is not served again from the cache.
        if (outcome.accepted && cached.length) {
          const evicted = await evictCorrected(db, principal.tenantId, cached).catch((e: unknown) => {
            req.log.warn({ taskId, err: String(e) }, 'could not evict the corrected answer from the cache');
            return 0;
          });
          req.log.info({ taskId, evicted }, 'corrected answer evicted from the cache');
        }
        void recordReviewPreference(preferences, handle, { tenantId: principal.tenantId, taskId, model, decision: req.body.decision, reviewer: principal.keyId, log: req.log });
        return { taskId, accepted: outcome.accepted, answer: outcome.answer };
      } catch (err) {
        const refused = updateRefusal(err);
        if (refused) throw refused;
        if (err instanceof WorkflowNotFoundError || /already completed/i.test(String(err))) throw conflict('task_finished', 'the task has finished');
        throw temporalError(err);
      }
    },
  );

  app.get(
    '/v1/guardrails/policy',
    {
      schema: {
        tags: ['guardrails'],
        summary: "The tenant's guardrail policy in force (version 0 is the built-in default)",
        response: { 200: policyView, 401: errorBody, 403: errorBody, 409: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:read');
      try {
        return await policies.current(principal.tenantId);
      } catch (err) {
        if (err instanceof ApplicationFailure && err.type === INVALID_GUARDRAIL_POLICY) throw new ApiError(409, 'invalid_policy', err.message);
        throw err;
      }
    },
  );

  app.put(
    '/v1/guardrails/policy',
    {
      schema: {
        tags: ['guardrails'],
        summary: 'Replace the guardrail policy: validated, stored as a new version, used by tasks started from now on',
        body: guardrailPolicySchema,
        response: { 200: policyView, 400: errorBody, 401: errorBody, 403: errorBody, 413: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'admin');
      const saved = await policies.save(principal.tenantId, req.body, principal.keyId);
      req.log.info({ tenantId: principal.tenantId, version: saved.version, by: principal.keyId }, 'guardrail policy changed');
      return saved;
    },
  );

  app.get(
    '/v1/guardrails/quarantine',
    {
      schema: {
        tags: ['guardrails'],
        summary: 'Untrusted text held back from the model as a likely injection (newest first)',
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
        response: {
          200: z.object({
            items: z.array(
              z.object({ id: z.string(), taskId: z.string(), source: z.string(), sourceRef: z.string().nullable(), signals: z.array(z.string()), score: z.number(), excerpt: z.string(), createdAt: z.string() }),
            ),
          }),
          401: errorBody,
          403: errorBody,
        },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'admin');
      const { rows } = await db.query<{ id: string; task_id: string; source: string; source_ref: string | null; signals: string[]; score: number; excerpt: string; created_at: Date }>(
        `SELECT id::text, task_id, source, source_ref, signals, score, excerpt, created_at FROM guardrail_quarantine
         WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
        [principal.tenantId, req.query.limit],
      );
      return {
        items: rows.map((r) => ({ id: r.id, taskId: r.task_id, source: r.source, sourceRef: r.source_ref, signals: r.signals, score: r.score, excerpt: r.excerpt, createdAt: r.created_at.toISOString() })),
      };
    },
  );
};
