// The HTTP API: a thin Fastify layer that authenticates, validates with the zod contracts,
// and talks to Temporal and Postgres. Errors always come back as
// `{ error: { code, message, details } }`; invalid input gets a 400 naming the field.
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyError } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Config, PayloadKeyRing } from '../infra/config.js';
import type { Db } from '../infra/db/pool.js';
import type { Logger } from '../infra/logger.js';
import { Authenticator, type Principal } from './auth.js';
import { ApiError, errorBody } from './errors.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { codecRoutes } from './routes/codec.js';
import { documentRoutes } from './routes/documents.js';
import { healthRoutes } from './routes/health.js';
import { agentRoutes } from './routes/agents.js';
import { guardrailRoutes } from './routes/guardrails.js';
import { taskRoutes } from './routes/tasks.js';
import { userRoutes } from './routes/users.js';

export interface ApiDeps {
  db: Db;
  temporal: Client;
  /** The payload keys: the API decrypts PII placeholders for callers with pii:read. */
  keyRing: PayloadKeyRing;
  config: Pick<Config, 'temporal' | 'retrieval' | 'ingest' | 'api' | 'agents'>;
  log: Logger;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export async function buildApi(deps: ApiDeps) {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'api' }),
    bodyLimit: deps.config.api.bodyLimitBytes,
    // Never log bodies or headers: they carry documents, questions and keys.
    genReqId: () => `req_${Math.random().toString(36).slice(2, 12)}`,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => {
        const path = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
        return { field: [err.validationContext, path].filter(Boolean).join('.'), message: v.message };
      });
      const first = issues[0]!;
      return reply.code(400).send(errorBody('invalid_request', `${first.field}: ${first.message}`, { issues }));
    }
    if (err instanceof ApiError) {
      return reply.code(err.statusCode).send(errorBody(err.code, err.message, err.details));
    }
    if (isResponseSerializationError(err)) {
      req.log.error({ issues: err.cause.issues }, 'response did not match its schema');
      return reply.code(500).send(errorBody('internal', 'internal error'));
    }
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err.statusCode === 400 && err instanceof SyntaxError)) {
      return reply.code(400).send(errorBody('invalid_json', `body: ${err.message}`));
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      const code = err.statusCode === 413 ? 'payload_too_large' : err.statusCode === 415 ? 'unsupported_media_type' : 'bad_request';
      return reply.code(err.statusCode).send(errorBody(code, err.message));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send(errorBody('internal', 'internal error'));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody('not_found', `no route ${req.method} ${req.url.split('?')[0]}`)));

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Gatehouse API', version: '0.1.0', description: 'Durable orchestration for generative-AI tasks on Temporal.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const auth = new Authenticator(deps.db, undefined, deps.config.api.oidc);
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/v1/')) return;
    req.principal = await auth.authenticate(req.headers.authorization);
  });

  await app.register(healthRoutes(deps));
  await app.register(documentRoutes(deps));
  await app.register(taskRoutes(deps));
  await app.register(agentRoutes(deps));
  await app.register(guardrailRoutes(deps));
  await app.register(apiKeyRoutes(deps, auth));
  await app.register(userRoutes(deps));
  await app.register(codecRoutes(deps, auth));
  return app;
}

export function principalOf(req: { principal?: Principal }): Principal {
  if (!req.principal) throw new ApiError(401, 'unauthorized', 'authentication required');
  return req.principal;
}
