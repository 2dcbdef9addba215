// The router on the OpenAI-compatible proxy: `model: "auto"` asks the tenant's routing document
// which route the last user message takes, `model: "route:<intent>"` names one; any other
// value is a registry model and no router runs. The proxy is a model endpoint, so of a route
// it uses what concerns the model call: a stock answer or a clarifying question is the reply
// (no model call), and a model, retrieval or agent route lends its model and its
// context-overflow rule; the retrieval and the agent's tools are tasks' business (POST /v1/tasks).
import { RoutingDocuments } from '../activities/router/document.js';
import { PreferenceRouter } from '../activities/router/preferences.js';
import { costFromRegistry, Router, UnknownRouteError } from '../activities/router/router.js';
import type { ChatMessage } from '../activities/gateway/types.js';
import type { ContextOverflow, RouteDecision } from '../contracts/routing.js';
import { ApiError } from './errors.js';
import type { ApiDeps } from './route-deps.js';

const routers = new WeakMap<ApiDeps, Pick<Router, 'route' | 'documents'>>();

/**
 * The API's router: the process's own (shared with its worker) or one over its embedder, built
 * once per app so the routing routes and the proxy share its document cache. None without an embedder.
 */
export function apiRouter(deps: ApiDeps): Pick<Router, 'route' | 'documents'> | undefined {
  if (deps.router) return deps.router;
  if (!deps.embedder) return undefined;
  let router = routers.get(deps);
  if (!router) {
    const registry = deps.config.models.registry;
    router = new Router({
      documents: new RoutingDocuments(deps.db, 0),
      gateway: deps.gateway,
      embedder: deps.embedder,
      preferences: new PreferenceRouter(deps.db, deps.embedder, { log: deps.log }),
      costPerMTok: costFromRegistry((m) => registry.find((s) => s.name === m)),
    });
    routers.set(deps, router);
  }
  return router;
}

export const ROUTE_PREFIX = 'route:';
export const ROUTE_HEADER = 'x-gatehouse-route';

export type ProxyRoute =
  | { kind: 'model'; model?: string; overflow?: ContextOverflow; decision?: RouteDecision }
  | { kind: 'answer'; content: string; decision: RouteDecision };

/** Whether `model` asks the router: auto (or none), or a route by name. */
export const asksRouter = (model: string | undefined) => !model || model === 'auto' || model.startsWith(ROUTE_PREFIX);

export async function routeProxyRequest(
  router: Pick<Router, 'route'> | undefined,
  req: { tenantId: string; model: string | undefined; messages: ChatMessage[] },
): Promise<ProxyRoute> {
  if (!asksRouter(req.model)) return { kind: 'model', model: req.model };
  const named = req.model?.startsWith(ROUTE_PREFIX) ? req.model.slice(ROUTE_PREFIX.length) : undefined;
  if (!router) {
    if (named !== undefined) throw new ApiError(503, 'router_unavailable', 'this API process has no router (no embedder): send routed requests to a process with a worker');
    return { kind: 'model' };
  }
  const text = [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  if (!text.trim() && named === undefined) return { kind: 'model' };
  let out;
  try {
    // The messages went through the guard's PII mask first: the text may leave the process.
    out = await router.route({ tenantId: req.tenantId, text, masked: true, named });
  } catch (err) {
    if (err instanceof UnknownRouteError) throw new ApiError(400, 'invalid_request', `model: ${err.message}`, { field: 'model' });
    throw err;
  }
  if (!out.decided) return { kind: 'model' };
  const decision = out.decision;
  const target = decision.target;
  if (target.kind === 'stock') return { kind: 'answer', content: target.answer, decision };
  if (target.kind === 'clarify') return { kind: 'answer', content: target.question, decision };
  return { kind: 'model', model: decision.model, overflow: target.overflow, decision };
}

/** The response header naming the route: its intent, or how it was decided when none. */
export const routeHeader = (route: ProxyRoute): Record<string, string> =>
  route.decision ? { [ROUTE_HEADER]: route.decision.intent ?? (route.decision.target.kind === 'clarify' ? 'clarify' : 'fallback') } : {};
