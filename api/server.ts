// The HTTP API: a thin Fastify layer that authenticates, validates with the zod contracts,
// and talks to Temporal and Postgres. Errors always come back as
// `{ error: { code, message, details } }`; invalid input gets a 400 naming the field.
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Socket } from 'node:net';
import Fastify, { type FastifyReply } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { jsonNestingExceeds, MAX_BODY_DEPTH } from '../infra/input-limits.js';
import { withLogFields } from '../infra/logger.js';
import { rootWorkflowId } from '../infra/workflow-tenants.js';
import { Authenticator } from './auth.js';
import { errorHandler, gatehouseErrorShape } from './error-reply.js';
import { ApiError, errorBody } from './errors.js';
import { traceRequests } from './request-spans.js';
import type { ApiDeps } from './route-deps.js';
import { gatewayRoutes } from './routes/gateway.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { codecRoutes } from './routes/codec.js';
import { consoleRoutes } from './routes/console.js';
import { gatewayLimitRoutes } from './routes/gateway-limits.js';
import { documentRoutes } from './routes/documents.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { agentRoutes } from './routes/agents.js';
import { guardrailRoutes } from './routes/guardrails.js';
import { openaiProxyRoutes } from './routes/openai-proxy.js';
import { routingRoutes } from './routes/routing.js';
import { cacheRoutes } from './routes/cache.js';
import { routerPreferenceRoutes } from './routes/router-preferences.js';
import { promptRoutes } from './routes/prompts.js';
import { feedbackRoutes } from './routes/feedback.js';
import { taskRoutes } from './routes/tasks.js';
import { forkRoutes } from './routes/forks.js';
import { userRoutes } from './routes/users.js';

export async function buildApi(deps: ApiDeps) {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'api' }),
    bodyLimit: deps.config.api.bodyLimitBytes,
    // Never log bodies or headers: they carry documents, questions and keys.
    genReqId: () => `req_${Math.random().toString(36).slice(2, 12)}`,
    // Above the contracts' own id limits, so an over-long id is a 400 naming the parameter;
    // a URL longer still is the router's 414 (frameworkErrors below).
    routerOptions: { maxParamLength: 1_000 },
    // Errors Fastify answers before any route runs get the same body as ours.
    frameworkErrors: (err, _req, reply) => {
      const [status, code, message]: [number, string, string] =
        err.code === 'FST_ERR_BAD_URL'
          ? [400, 'invalid_request', 'url: not a valid URL (bad percent-encoding)']
          : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
            ? [414, 'uri_too_long', 'url: a path parameter is longer than 1000 characters']
            : [400, 'bad_request', err.message];
      void (reply as FastifyReply).code(status).send(errorBody(code, message));
    },
    clientErrorHandler: writeClientError,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON bodies: nesting is checked on the raw text first, so neither the parser nor any
  // later JSON.stringify of a stored value recurses through thousands of levels.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (jsonNestingExceeds(body as string, MAX_BODY_DEPTH)) {
      return done(new ApiError(400, 'invalid_json', `body: nested deeper than ${MAX_BODY_DEPTH} levels`), undefined);
    }
    parseJson(req, body as string, done);
  });
  app.setErrorHandler(errorHandler(gatehouseErrorShape));
  // A known path asked with a method it does not have is a 405 with an Allow header, not a 404.
  const routes: Array<{ pattern: RegExp; method: string }> = [];
  app.addHook('onRoute', (route) => {
    const pattern = new RegExp(`^${route.url.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+').replace(/\*/g, '.*')}$`);
    for (const method of [route.method].flat()) routes.push({ pattern, method });
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allowed.length) {
      return reply.code(405).header('allow', allowed.join(', ')).send(errorBody('method_not_allowed', `${req.method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`));
    }
    return reply.code(404).send(errorBody('not_found', `no route ${req.method} ${path}`));
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Gatehouse API', version: '0.1.0', description: 'Durable orchestration for generative-AI tasks on Temporal.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: (doc) => withoutNoContentBodies(jsonSchemaTransformObject(doc)),
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // Before authentication, so a request's whole life is inside its span.
  if (deps.config.tracing) traceRequests(app);
  const auth = new Authenticator(deps.db, undefined, deps.config.api.oidc);
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/v1/')) return;
    req.principal = await auth.authenticate(req.headers.authorization);
    // The request's lines (Fastify's "request completed" is the reply's) name the tenant, and on a
    // task's routes its root task, as the worker's lines do; never the key or who holds it.
    const taskId = (req.params as { taskId?: unknown } | undefined)?.taskId;
    req.log = reply.log = withLogFields(req.log, { tenantId: req.principal.tenantId, ...(typeof taskId === 'string' ? { taskId: rootWorkflowId(taskId) } : {}) });
  });

  await app.register(healthRoutes(deps));
  await app.register(metricsRoutes(deps));
  await app.register(documentRoutes(deps));
  await app.register(taskRoutes(deps));
  await app.register(forkRoutes(deps));
  await app.register(agentRoutes(deps));
  await app.register(guardrailRoutes(deps));
  await app.register(apiKeyRoutes(deps, auth));
  await app.register(userRoutes(deps));
  await app.register(codecRoutes(deps, auth));
  await app.register(gatewayLimitRoutes(deps));
  await app.register(gatewayRoutes(deps));
  await app.register(openaiProxyRoutes(deps));
  await app.register(routingRoutes(deps));
  await app.register(cacheRoutes(deps));
  await app.register(routerPreferenceRoutes(deps));
  await app.register(promptRoutes(deps));
  await app.register(feedbackRoutes(deps));
  await app.register(consoleRoutes());
  return app;
}

/** Errors Node's HTTP parser raises before Fastify sees a request (431, 408, malformed), in our error shape. */
function writeClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'header_too_large', 'headers: larger than the server accepts']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'timeout', 'the request was not received in time']
        : [400, 'Bad Request', 'bad_request', 'malformed HTTP request'];
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/** A 204 has no body: the zod `z.null()` it is declared with must not document one (it would promise JSON). */
function withoutNoContentBodies<T>(doc: T): T {
  const paths = (doc as { paths?: Record<string, Record<string, { responses?: Record<string, { content?: unknown }> }>> }).paths ?? {};
  for (const operations of Object.values(paths)) {
    for (const op of Object.values(operations)) if (op.responses?.['204']) delete op.responses['204'].content;
  }
  return doc;
}
