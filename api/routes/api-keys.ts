// API keys of the caller's tenant: an admin creates keys with narrower roles for its backends
// and for themselves, and revokes them. The plain key is returned once, at creation. A key is
// bound to the person who minted it (or to no one, `backend: true`): an admin cannot mint a key
// that speaks for someone else, so a second key never makes a second approver.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createApiKey, hasRole, requireRole, ROLES, type Authenticator } from '../auth.js';
import { idString, storableString } from '../../infra/input-limits.js';
import { errorBody } from '../contracts.js';
import { ApiError, notFound } from '../errors.js';
import { principalOf, type ApiDeps } from '../route-deps.js';

const createKeyRequest = z
  .object({
    name: storableString(200).default(''),
    roles: z.array(z.enum(ROLES)).min(1),
    backend: z.boolean().default(false).describe('A key for a backend: bound to no person, so it can never decide an approval'),
    application: idString(100).optional().describe('The application the key is for: model allow-lists may apply to all its keys'),
  })
  .meta({ id: 'CreateApiKeyRequest' });
const createdKey = z
  .object({
    id: z.string(),
    key: z.string().describe('Shown once; only its hash is stored'),
    tenantId: z.string(),
    roles: z.array(z.enum(ROLES)),
    userId: z.string().optional().describe('The person the key speaks for: the one who created it'),
    application: z.string().optional(),
  })
  .meta({ id: 'CreatedApiKey' });

export const apiKeyRoutes = (deps: ApiDeps, auth: Authenticator): FastifyPluginAsyncZod => async (app) => {
  app.post(
    '/v1/api-keys',
    { schema: { tags: ['api keys'], summary: "Create an API key in the caller's tenant", body: createKeyRequest, response: { 201: createdKey, 400: errorBody, 401: errorBody, 403: errorBody } } },
    async (req, reply) => {
      const principal = principalOf(req);
      requireRole(principal, 'admin');
      if (req.body.roles.includes('operator') && !hasRole(principal, 'operator')) {
        throw new ApiError(403, 'forbidden', "body.roles: only a deployment operator may grant the \"operator\" role");
      }
      const userId = req.body.backend ? undefined : principal.userId;
      const { application } = req.body;
      const { id, key } = await createApiKey(deps.db, { tenantId: principal.tenantId, roles: req.body.roles, name: req.body.name, userId, application });
      req.log.info({ keyId: id, tenantId: principal.tenantId, roles: req.body.roles, userId }, 'api key created');
      return reply.code(201).send({ id, key, tenantId: principal.tenantId, roles: req.body.roles, ...(userId ? { userId } : {}), ...(application ? { application } : {}) });
    },
  );

  app.delete(
    '/v1/api-keys/:keyId',
    { schema: { tags: ['api keys'], summary: 'Revoke an API key', params: z.object({ keyId: idString(64) }), response: { 204: z.null(), 401: errorBody, 403: errorBody, 404: errorBody } } },
    async (req, reply) => {
      const principal = principalOf(req);
      requireRole(principal, 'admin');
      const { rowCount } = await deps.db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL', [req.params.keyId, principal.tenantId]);
      if (!rowCount) throw notFound(`API key ${req.params.keyId}`);
      auth.clear();
      req.log.info({ keyId: req.params.keyId, tenantId: principal.tenantId }, 'api key revoked');
      return reply.code(204).send(null);
    },
  );
};
