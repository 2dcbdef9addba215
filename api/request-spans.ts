// A server span per HTTP request (`POST /v1/tasks`), the root of a task's trace: the Temporal
// client's StartWorkflow span and everything the workflow does hang under it. A caller's own W3C
// traceparent header makes it a child of the caller's trace. Registered only when tracing is on.
// Attributes follow the HTTP semantic conventions, route template only: a path's ids and a query
// string stay out of the span.
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GATEHOUSE } from '../infra/spans.js';

const SPAN = Symbol('gatehouse.requestSpan');
type Traced = FastifyRequest & { [SPAN]?: Span };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any server, logger and type provider
export function traceRequests(app: FastifyInstance<any, any, any, any, any>): void {
  app.addHook('onRequest', (req, _reply, done) => {
    const route = req.routeOptions.url;
    const parent = propagation.extract(context.active(), req.headers);
    const span = trace.getTracer('gatehouse-api').startSpan(
      route ? `${req.method} ${route}` : req.method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, ...(route ? { 'http.route': route } : {}), 'url.scheme': req.protocol } },
      parent,
    );
    (req as Traced)[SPAN] = span;
    // The rest of the request (hooks, handler) runs with the span active: AsyncLocalStorage carries it.
    context.with(trace.setSpan(parent, span), done);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const span = (req as Traced)[SPAN];
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (req.principal?.tenantId) span.setAttribute(GATEHOUSE.tenant, req.principal.tenantId);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
  app.addHook('onRequestAbort', (req, done) => {
    const span = (req as Traced)[SPAN];
    span?.setAttribute('error.type', 'aborted');
    span?.end();
    done();
  });
}
