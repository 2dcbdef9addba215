// The people of the caller's tenant. An admin adds a person with roles and the subject their
// OpenID Connect issuer gives them; they then sign in with that issuer's ID tokens. Adding a
// person grants nothing by itself: only the issuer can vouch that someone is that subject.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createUser, requireRole, ROLES, type Role } from '../auth.js';
import { errorBody, principalView } from '../contracts.js';
import { ApiError } from '../errors.js';
import { principalOf, type ApiDeps } from '../route-deps.js';

const createUserRequest = z
  .object({
    name: z.string().min(1).max(200),
    email: z.email().max(320).optional(),
    oidcSubject: z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, 'printable ASCII, no spaces').describe("The `sub` claim of the person's ID tokens"),
    roles: z.array(z.enum(ROLES).exclude(['operator'])).min(1),
  })
  .meta({ id: 'CreateUserRequest' });
const user = z
  .object({ id: z.string(), tenantId: z.string(), name: z.string(), email: z.string().optional(), oidcSubject: z.string().optional(), roles: z.array(z.enum(ROLES)) })
  .meta({ id: 'User' });

export const userRoutes = (deps: ApiDeps): FastifyPluginAsyncZod => async (app) => {
  app.get(
    '/v1/me',
    { schema: { tags: ['users'], summary: 'Who the caller is: tenant, roles and the person the key speaks for (any valid key)', response: { 200: principalView, 401: errorBody } } },
    async (req) => {
      const principal = principalOf(req);
      const { rows } = principal.userId
        ? await deps.db.query<{ name: string }>('SELECT name FROM users WHERE id = $1 AND tenant_id = $2', [principal.userId, principal.tenantId])
        : { rows: [] };
      return {
        tenantId: principal.tenantId,
        keyId: principal.keyId,
        roles: principal.roles,
        ...(principal.userId ? { user: { id: principal.userId, name: rows[0]?.name ?? principal.userId } } : {}),
      };
    },
  );

  app.post(
    '/v1/users',
    { schema: { tags: ['users'], summary: "Add a person to the caller's tenant (they sign in with OpenID Connect)", body: createUserRequest, response: { 201: user, 400: errorBody, 401: errorBody, 403: errorBody, 409: errorBody } } },
    async (req, reply) => {
      const principal = principalOf(req);
      requireRole(principal, 'admin');
      const issuer = deps.config.api.oidc?.issuer;
      if (!issuer) throw new ApiError(400, 'invalid_request', 'oidcSubject: OpenID Connect sign-in is not configured (OIDC_ISSUER)');
      const { rows } = await deps.db.query('SELECT 1 FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2', [issuer, req.body.oidcSubject]);
      if (rows[0]) throw new ApiError(409, 'conflict', 'oidcSubject: a person with this subject exists already');
      const created = await createUser(deps.db, { ...req.body, tenantId: principal.tenantId, oidcIssuer: issuer });
      req.log.info({ userId: created.id, tenantId: principal.tenantId, roles: created.roles, by: principal.keyId }, 'user added');
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/v1/users',
    { schema: { tags: ['users'], summary: "The people of the caller's tenant", response: { 200: z.object({ users: z.array(user) }), 401: errorBody, 403: errorBody } } },
    async (req) => {
      const principal = principalOf(req);
      requireRole(principal, 'admin');
      const { rows } = await deps.db.query<{ id: string; name: string; email: string | null; oidc_subject: string | null; roles: Role[] }>(
        'SELECT id, name, email, oidc_subject, roles FROM users WHERE tenant_id = $1 AND disabled_at IS NULL ORDER BY created_at, id',
        [principal.tenantId],
      );
      return {
        users: rows.map((r) => ({ id: r.id, tenantId: principal.tenantId, name: r.name, email: r.email ?? undefined, oidcSubject: r.oidc_subject ?? undefined, roles: r.roles })),
      };
    },
  );
};
