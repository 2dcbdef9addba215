// GET /v1/gateway/deployments: each model deployment's health as this process's gateway sees it
// — breaker state, failure rate, recent latency, calls in flight, trips. For the deployment's
// admins and operators; it holds no tenant data (no prompts, tenants or keys), so any admin may
// see all of it.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { hasRole } from '../auth.js';
import { gatewayDeployments } from '../contracts.js';
import { ApiError } from '../errors.js';
import { principalOf, type ApiDeps } from '../route-deps.js';

export const gatewayRoutes = (deps: ApiDeps): FastifyPluginAsyncZod => async (app) => {
  app.get(
    '/v1/gateway/deployments',
    {
      schema: {
        tags: ['gateway'],
        summary: "Model deployments' circuit breakers, failure rates, latency and load (admins, operators)",
        response: { 200: gatewayDeployments },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      if (!hasRole(principal, 'admin') && !hasRole(principal, 'operator')) {
        throw new ApiError(403, 'forbidden', 'this API key lacks the "admin" or "operator" role');
      }
      if (!deps.gateway) {
        return {
          gateway: 'absent' as const,
          message: 'this API process runs no worker, so it holds no breaker state: each worker keeps its own (ask a process started with GATEHOUSE_RUN_WORKER=true)',
          deployments: [],
        };
      }
      return { gateway: 'in_process' as const, deployments: deps.gateway.deploymentStatus() };
    },
  );
};
