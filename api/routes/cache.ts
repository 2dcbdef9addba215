// The cache over HTTP: a tenant's reviewers and admins list its entries and evict them — one by
// key, a layer, or all. A reviewer's correction of an answer evicts the entry it came from on its
// own (api/routes/guardrails.ts).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { evictCacheEntries, listCacheEntries } from '../../activities/cache/entries.js';
import { requireRole } from '../auth.js';
import { errorBody } from '../contracts.js';
import { notFound } from '../errors.js';
import { principalOf, type ApiDeps } from '../route-deps.js';

const layer = z.enum(['model', 'retrieval', 'tool', 'semantic']);
const entry = z
  .object({
    layer,
    scope: z.enum(['tenant', 'user']),
    /** A request hash (64 hex digits); a semantic entry's id. */
    key: z.string(),
    /** Semantic entries: the route and the (masked) question they answer. */
    route: z.string().optional(),
    query: z.string().optional(),
    bytes: z.number().int(),
    hits: z.number().int(),
    createdAt: z.string(),
    expiresAt: z.string(),
    lastHitAt: z.string(),
    preview: z.string().nullable(),
  })
  .meta({ id: 'CacheEntry' });

export const cacheRoutes = (deps: ApiDeps): FastifyPluginAsyncZod => async (app) => {
  app.get(
    '/v1/cache/entries',
    {
      schema: {
        tags: ['cache'],
        summary: "The tenant's live cache entries, most recently used first",
        querystring: z.object({ layer: layer.optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }),
        response: { 200: z.object({ entries: z.array(entry) }), 400: errorBody, 401: errorBody, 403: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'reviews:write');
      return { entries: await listCacheEntries(deps.db, principal.tenantId, req.query) };
    },
  );

  app.delete(
    '/v1/cache/entries/:layer/:key',
    {
      schema: {
        tags: ['cache'],
        summary: 'Evict one entry',
        params: z.object({ layer, key: z.string().regex(/^(?:[0-9a-f]{64}|\d{1,18})$/, 'a cache key (64 hex digits) or a semantic entry id') }),
        response: { 200: z.object({ evicted: z.number().int() }), 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'reviews:write');
      const evicted = await evictCacheEntries(deps.db, principal.tenantId, req.params);
      if (!evicted) throw notFound(`cache entry ${req.params.key}`);
      req.log.info({ tenantId: principal.tenantId, layer: req.params.layer, by: principal.keyId }, 'cache entry evicted');
      return { evicted };
    },
  );

  app.delete(
    '/v1/cache/entries',
    {
      schema: {
        tags: ['cache'],
        summary: "Evict the tenant's entries: those of one layer, or all",
        querystring: z.object({ layer: layer.optional() }),
        response: { 200: z.object({ evicted: z.number().int() }), 400: errorBody, 401: errorBody, 403: errorBody },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'reviews:write');
      const evicted = await evictCacheEntries(deps.db, principal.tenantId, { layer: req.query.layer });
      req.log.info({ tenantId: principal.tenantId, layer: req.query.layer ?? 'all', evicted, by: principal.keyId }, 'cache evicted');
      return { evicted };
    },
  );
};
