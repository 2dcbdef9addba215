// The router over HTTP: the tenant's versioned routing document (read it, replace it), and a
// dry run that shows which route a request would take and why, so a tenant can test a
// document before its users meet it.
import { ApplicationFailure } from '@temporalio/common';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { INVALID_ROUTING, RoutingDocuments, routingDocumentSchema, unknownNames } from '../../activities/router/document.js';
import { UnknownRouteError } from '../../activities/router/router.js';
import { apiRouter } from '../proxy-route.js';
import { routeDecision } from '../../contracts/routing.js';
import { storableString } from '../../infra/input-limits.js';
import { requireRole } from '../auth.js';
import { errorBody } from '../contracts.js';
import { ApiError } from '../errors.js';
import { principalOf, type ApiDeps } from '../route-deps.js';

const documentView = z.object({ version: z.number().int(), document: z.record(z.string(), z.unknown()) }).meta({ id: 'RoutingDocument' });
const classifyRequest = z.object({ text: storableString(10_000).min(1), route: z.string().max(64).optional() }).strict();
const classifyResponse = z.object({ decision: routeDecision, latencyMs: z.number() }).meta({ id: 'RouteDryRun' });

export const routingRoutes = (deps: ApiDeps): FastifyPluginAsyncZod => async (app) => {
  // The router's own documents when there is one: a change saved here is seen by its next request.
  const router = apiRouter(deps);
  const documents = router?.documents ?? new RoutingDocuments(deps.db, 0);
  const models = deps.config.models.registry.map((m) => m.name);

  const invalid = (err: unknown) => {
    if (err instanceof ApplicationFailure && err.type === INVALID_ROUTING) return new ApiError(409, 'invalid_routing', err.message);
    return err;
  };

  app.get(
    '/v1/router/document',
    {
      schema: {
        tags: ['router'],
        summary: "The tenant's routing document in force (version 0 is the built-in one: every request to the default chain)",
        response: { 200: documentView, 401: errorBody, 403: errorBody, 409: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:read');
      try {
        return await documents.current(principal.tenantId);
      } catch (err) {
        throw invalid(err);
      }
    },
  );

  app.put(
    '/v1/router/document',
    {
      schema: {
        tags: ['router'],
        summary: 'Replace the routing document: validated (its models must be in the registry), stored as a new version, used by requests from now on',
        description: "Agent routes' tool names are matched against the worker's tool registry when the agent runs: a tool it does not have is not offered.",
        body: routingDocumentSchema,
        response: { 200: documentView, 400: errorBody, 401: errorBody, 403: errorBody, 413: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'admin');
      const problems = unknownNames(req.body, { models });
      if (problems.length) throw new ApiError(400, 'invalid_request', `body.${problems[0]!.path}: ${problems[0]!.message}`, { issues: problems.map((p) => ({ field: `body.${p.path}`, message: p.message })) });
      const saved = await documents.save(principal.tenantId, req.body, principal.keyId);
      req.log.info({ tenantId: principal.tenantId, version: saved.version, intents: saved.document.intents.length, by: principal.keyId }, 'routing document changed');
      return saved;
    },
  );

  app.post(
    '/v1/router/classify',
    {
      schema: {
        tags: ['router'],
        summary: 'Which route a request would take, and why (stage, nearest intents) — nothing is answered',
        body: classifyRequest,
        response: { 200: classifyResponse, 400: errorBody, 401: errorBody, 403: errorBody, 409: errorBody, 503: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'tasks:read');
      if (!router) throw new ApiError(503, 'unavailable', 'the router needs an embedder: run the API with a worker (GATEHOUSE_RUN_WORKER=true)');
      try {
        // The caller sends this text to test its document: it may go to the classifier model as is.
        const out = await router.route({ tenantId: principal.tenantId, text: req.body.text, masked: true, named: req.body.route });
        if (!out.decided) throw new Error('a masked request is always decided');
        return { decision: out.decision, latencyMs: out.latencyMs };
      } catch (err) {
        if (err instanceof UnknownRouteError) throw new ApiError(400, 'invalid_request', `body.route: ${err.message}`);
        throw invalid(err);
      }
    },
  );
};
