// The router's activity: which route a request takes (registered as a local activity — the
// document is cached, the centroids are computed once per version, the query embedded in-process).
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../deps.js';
import { RoutingDocuments } from './document.js';
import { PreferenceRouter } from './preferences.js';
import { costFromRegistry, Router, UnknownRouteError, type RouteInput, type RouteOutput } from './router.js';

export function createRouterActivities(deps: Pick<ActivityDeps, 'db' | 'gateway' | 'embedder' | 'router' | 'log'>) {
  const router =
    deps.router ??
    new Router({
      documents: new RoutingDocuments(deps.db),
      gateway: deps.gateway,
      embedder: deps.embedder,
      preferences: new PreferenceRouter(deps.db, deps.embedder, { log: deps.log }),
      costPerMTok: costFromRegistry((m) => deps.gateway.model(m)),
    });
  return {
    async routeRequest(input: RouteInput): Promise<RouteOutput> {
      try {
        return await router.route(input);
      } catch (err) {
        if (err instanceof UnknownRouteError) throw ApplicationFailure.nonRetryable(err.message, 'InvalidInput');
        throw err;
      }
    },
  };
}
