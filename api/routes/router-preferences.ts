// Routing learned from preferences, over HTTP: a backend reports its users' A/B choices
// (POST /v1/router/preferences) or asks a judge model to compare two answers
// (POST /v1/router/preferences/judge) — both tasks:write, the role of a backend acting for its
// users; an admin refits the router (POST /v1/router/fit); GET /v1/router/preferences/model
// shows the fit in force. Reviewers' decisions are recorded by the review route
// (api/review-preferences.ts). Everything is scoped to the caller's tenant.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { judgePair, JudgeReplyError } from '../../activities/router/judge.js';
import { PreferenceRouter, PreferenceRouterError } from '../../activities/router/preferences.js';
import { requireRole } from '../auth.js';
import { errorBody, judgeRequest, judgeResponse, preferenceRecorded, preferenceRequest, routerFitRequest, routerFitView } from '../contracts.js';
import { ApiError, gatewayRefusal } from '../errors.js';
import { principalOf, type ApiDeps } from '../route-deps.js';

const refusals = { 400: errorBody, 401: errorBody, 403: errorBody, 503: errorBody };

export const routerPreferenceRoutes = (deps: ApiDeps): FastifyPluginAsyncZod => async (app) => {
  // Preferences are stored with their query's embedding: without the deployment's embedder
  // there is nothing to store them with.
  const router = deps.embedder ? new PreferenceRouter(deps.db, deps.embedder, { log: deps.log }) : undefined;
  const preferences = (): PreferenceRouter => {
    if (!router) throw new ApiError(503, 'embedder_unavailable', 'this API process has no embedder, so it cannot embed the queries preferences are clustered by');
    return router;
  };

  app.post(
    '/v1/router/preferences',
    { schema: { tags: ['router'], summary: "Record a user's A/B choice between two models' answers to a query", body: preferenceRequest, response: { 201: preferenceRecorded, ...refusals } } },
    async (req, reply) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:write');
      const { id } = await preferences().record(principal.tenantId, { ...req.body, source: 'ab', createdBy: principal.keyId });
      return reply.code(201).send({ id, source: 'ab' as const });
    },
  );

  app.post(
    '/v1/router/preferences/judge',
    {
      schema: {
        tags: ['router'],
        summary: 'Ask a judge model which of two answers is better (both orders, against position bias) and record its verdict',
        body: judgeRequest,
        response: { 201: judgeResponse, ...refusals, 429: errorBody, 502: errorBody },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:write');
      const store = preferences();
      if (!deps.gateway) throw new ApiError(503, 'gateway_unavailable', 'this API process runs no worker, so it has no model gateway to ask a judge through');
      const { query, answers, judgeModel } = req.body;
      let judged;
      try {
        judged = await judgePair(deps.gateway, {
          query,
          answers,
          judgeModel,
          context: { tenantId: principal.tenantId, keyId: principal.keyId, userId: principal.userId, application: principal.application, requestId: randomUUID() },
        });
      } catch (err) {
        throw judgeError(err);
      }
      const { id } = await store.record(principal.tenantId, { ...judged.preference, createdBy: principal.keyId });
      const p = judged.preference;
      return reply.code(201).send({ id, winner: p.winner, loser: p.loser, tie: p.tie ?? false, verdicts: judged.verdicts, reasons: judged.reasons, usage: judged.usage });
    },
  );

  app.post(
    '/v1/router/fit',
    {
      schema: {
        tags: ['router'],
        summary: "Refit the preference router on the tenant's preferences: cluster the queries, fit Bradley–Terry strengths per cluster, store a new version",
        body: routerFitRequest.nullish(),
        response: { 200: routerFitView, ...refusals, 409: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'admin');
      try {
        const fit = await preferences().fit(principal.tenantId, { k: req.body?.clusters, createdBy: principal.keyId });
        return view(fit);
      } catch (err) {
        if (err instanceof PreferenceRouterError && err.code === 'no_preferences') throw new ApiError(409, 'no_preferences', err.message);
        throw err;
      }
    },
  );

  app.get(
    '/v1/router/preferences/model',
    { schema: { tags: ['router'], summary: 'The fitted preference router in force: its clusters, strengths per cluster and version', response: { 200: routerFitView, ...refusals, 404: errorBody } } },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:read');
      const fit = await preferences().current(principal.tenantId);
      if (!fit) throw new ApiError(404, 'not_found', 'no fitted router yet: record preferences, then POST /v1/router/fit');
      return view(fit);
    },
  );
};

/** The fit without its centroids: hundreds of numbers a person cannot read. */
function view(fit: Awaited<ReturnType<PreferenceRouter['fit']>>): z.infer<typeof routerFitView> {
  return {
    version: fit.version,
    preferences: fit.preferences,
    createdAt: fit.createdAt,
    embedder: fit.model.embedder,
    players: fit.model.players,
    pooled: fit.model.pooled,
    clusters: fit.model.clusters.map((c, cluster) => ({ cluster, size: c.size, strengths: c.strengths })),
  };
}

function judgeError(err: unknown): ApiError {
  const refusal = gatewayRefusal(err);
  if (refusal) return refusal;
  if (err instanceof JudgeReplyError) return new ApiError(502, 'judge_unreadable', err.message);
  if (err instanceof Error && /unknown model/i.test(err.message)) return new ApiError(400, 'invalid_request', `judgeModel: ${err.message}`);
  return new ApiError(502, 'upstream_error', err instanceof Error ? err.message : String(err));
}
