// API keys of the caller's tenant: an admin creates keys with narrower roles for its backends
// and approvers, and revokes them. The plain key is returned once, at creation.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createApiKey, requireRole, ROLES, type Authenticator } from '../auth.js';
import { idString, storableString } from '../../infra/input-limits.js';
import { errorBody } from '../contracts.js';
import { notFound } from '../errors.js';
import { principalOf, type ApiDeps } from '../server.js';

const createKeyRequest = z
  .object({ name: storableString(200).default(''), roles: z.array(z.enum(ROLES)).min(1) })
  .meta({ id: 'CreateApiKeyRequest' });
const createdKey = z
  .object({ id: z.string(), key: z.string().describe('Shown once; only its hash is stored'), tenantId: z.string(), roles: z.array(z.enum(ROLES)) })
  .meta({ id: 'CreatedApiKey' });

export const apiKeyRoutes = (deps: ApiDeps, auth: Authenticator): FastifyPluginAsyncZod => async (app) => {
  app.post(
    '/v1/api-keys',
    { schema: { tags: ['api keys'], summary: "Create an API key in the caller's tenant", body: createKeyRequest, response: { 201: createdKey, 400: errorBody, 401: errorBody, 403: errorBody } } },
    async (req, reply) => {
      const principal = principalOf(req);
      requireRole(principal, 'admin');
      const { id, key } = await createApiKey(deps.db, { tenantId: principal.tenantId, roles: req.body.roles, name: req.body.name });
      req.log.info({ keyId: id, tenantId: principal.tenantId, roles: req.body.roles }, 'api key created');
      return reply.code(201).send({ id, key, tenantId: principal.tenantId, roles: req.body.roles });
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
