// What the gateway holds a tenant's model calls to, set by its admins: model allow-lists per
// tenant, application, person and key; budgets in dollars and tokens per tenant, key, person
// and task; requests and tokens per minute per tenant, key and model. And what the calls
// spent and what the caches saved, grouped (GET /v1/usage, usage:read), and the providers'
// prompt cache per prompt prefix (GET /v1/gateway/prompt-cache, usage:read). Every route is
// scoped to the caller's tenant.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import {
  listAccessLists,
  listBudgets,
  listRateLimits,
  promptCacheReport as promptCacheRows,
  setAccessList,
  setBudget,
  setRateLimit,
  usageReport as usageRows,
} from '../../activities/gateway/limits/index.js';
import { requireRole } from '../auth.js';
import {
  accessListRequest,
  accessLists,
  budgetList,
  budgetRequest,
  errorBody,
  promptCacheQuery,
  promptCacheReport,
  rateLimitList,
  rateLimitRequest,
  usageQuery,
  usageReport,
} from '../contracts.js';
import { ApiError } from '../errors.js';
import { principalOf, type ApiDeps } from '../route-deps.js';

const refusals = { 400: errorBody, 401: errorBody, 403: errorBody };

/** A rule for one key, person, task or application names it; the tenant's names no one. */
function requireSubject(scope: string, subject: string | undefined): void {
  if (scope !== 'tenant' && !subject) throw new ApiError(400, 'invalid_request', `subject: required for scope "${scope}"`);
}

export const gatewayLimitRoutes = (deps: ApiDeps): FastifyPluginAsyncZod => async (app) => {
  const { db } = deps;

  app.put(
    '/v1/gateway/access',
    { schema: { tags: ['gateway'], summary: 'Set (or, with models: null, remove) a model allow-list', body: accessListRequest, response: { 200: accessLists, ...refusals } } },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'admin');
      requireSubject(req.body.scope, req.body.subject);
      await setAccessList(db, principal.tenantId, req.body);
      req.log.info({ tenantId: principal.tenantId, scope: req.body.scope, subject: req.body.subject, models: req.body.models }, 'model access set');
      return { lists: await listAccessLists(db, principal.tenantId) };
    },
  );

  app.get('/v1/gateway/access', { schema: { tags: ['gateway'], summary: "The tenant's model allow-lists", response: { 200: accessLists, ...refusals } } }, async (req) => {
    const principal = principalOf(req);
    requireRole(principal, 'admin');
    return { lists: await listAccessLists(db, principal.tenantId) };
  });

  app.put(
    '/v1/budgets',
    { schema: { tags: ['gateway'], summary: 'Set (or, with both limits null, remove) a budget', body: budgetRequest, response: { 200: budgetList, ...refusals } } },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'admin');
      requireSubject(req.body.scope, req.body.subject);
      await setBudget(db, principal.tenantId, req.body);
      req.log.info({ tenantId: principal.tenantId, ...req.body }, 'budget set');
      return { budgets: await listBudgets(db, principal.tenantId) };
    },
  );

  app.get('/v1/budgets', { schema: { tags: ['gateway'], summary: "The tenant's budgets and what their current windows spent", response: { 200: budgetList, ...refusals } } }, async (req) => {
    const principal = principalOf(req);
    requireRole(principal, 'admin');
    return { budgets: await listBudgets(db, principal.tenantId) };
  });

  app.put(
    '/v1/rate-limits',
    { schema: { tags: ['gateway'], summary: 'Set (or, with both limits null, remove) a rate limit', body: rateLimitRequest, response: { 200: rateLimitList, ...refusals } } },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'admin');
      requireSubject(req.body.scope, req.body.subject);
      await setRateLimit(db, principal.tenantId, req.body);
      req.log.info({ tenantId: principal.tenantId, ...req.body }, 'rate limit set');
      return { limits: await listRateLimits(db, principal.tenantId) };
    },
  );

  app.get('/v1/rate-limits', { schema: { tags: ['gateway'], summary: "The tenant's rate limits", response: { 200: rateLimitList, ...refusals } } }, async (req) => {
    const principal = principalOf(req);
    requireRole(principal, 'admin');
    return { limits: await listRateLimits(db, principal.tenantId) };
  });

  app.get(
    '/v1/usage',
    {
      schema: {
        tags: ['gateway'],
        summary: "The tenant's model spend and tokens, grouped by key, model, day or task",
        querystring: usageQuery,
        response: { 200: usageReport, ...refusals },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'usage:read');
      const rows = await usageRows(db, principal.tenantId, req.query);
      return { groupBy: req.query.groupBy, rows } satisfies z.infer<typeof usageReport>;
    },
  );

  app.get(
    '/v1/gateway/prompt-cache',
    {
      schema: {
        tags: ['gateway'],
        summary: "The providers' prompt cache per prompt prefix and model: hit ratio, tokens, cost and what it saved",
        querystring: promptCacheQuery,
        response: { 200: promptCacheReport, ...refusals },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'usage:read');
      return { rows: await promptCacheRows(db, principal.tenantId, req.query) } satisfies z.infer<typeof promptCacheReport>;
    },
  );
};
