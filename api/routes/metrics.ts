// GET /metrics: the process's Prometheus metrics (infra/metrics.ts) in the text exposition format.
// Prometheus scrapes without Gatehouse's API keys: the route is open unless GATEHOUSE_METRICS_TOKEN
// is set, then it asks for that bearer token. What it shows is aggregates only — counts, sums and
// histograms labelled by model, tenant id, step, route, check and outcome; never a user id, a task
// id or any text — and the API binds to API_HOST (127.0.0.1 by default). Not in /openapi.json:
// it is not JSON, and no API client calls it.
//
// Two gauges are read at scrape time from where their state is kept, so they are right whichever
// process changed it: approvals pending from the approvals table, tasks by execution status from
// Temporal's visibility (a workflow cannot count its own end: the sandbox has no metrics).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TASK_TYPE_SEARCH_ATTRIBUTE } from '../../contracts/search-attributes.js';
import { bearerMatches, metrics, metricsRegistry } from '../../infra/metrics.js';
import { errorBody } from '../errors.js';
import type { ApiDeps } from '../route-deps.js';
import { TASK_TYPES } from '../task-status.js';

export const metricsRoutes = (deps: ApiDeps): FastifyPluginAsyncZod => async (app) => {
  const token = deps.config.api.metricsToken;
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    if (token && !bearerMatches(req.headers.authorization, token)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send(errorBody('unauthorized', 'GET /metrics needs the GATEHOUSE_METRICS_TOKEN bearer token'));
    }
    // A store that cannot answer leaves its gauges as they were and says so in the log: the rest still scrapes.
    await Promise.all([collectApprovals(deps), collectTasks(deps)].map((p) => p.catch((err: unknown) => req.log.warn({ err: String(err) }, 'a metrics gauge could not be read'))));
    return reply.header('content-type', metricsRegistry.contentType).send(await metricsRegistry.metrics());
  });
};

async function collectApprovals(deps: ApiDeps): Promise<void> {
  const { rows } = await deps.db.query<{ tenant_id: string; tool: string; n: string }>(
    `SELECT tenant_id, tool, count(*)::text AS n FROM approvals WHERE status = 'pending' GROUP BY tenant_id, tool`,
  );
  // Reset first: a tenant whose last approval was decided goes back to no series, not a stale count.
  metrics.approvalsPending.reset();
  for (const r of rows) metrics.approvalsPending.set({ tenant: r.tenant_id, tool: r.tool }, Number(r.n));
}

async function collectTasks(deps: ApiDeps): Promise<void> {
  const counts = await Promise.all(
    TASK_TYPES.map(async (type) => ({ type, counted: await deps.temporal.workflow.count(`${TASK_TYPE_SEARCH_ATTRIBUTE.name} = '${type}' GROUP BY ExecutionStatus`) })),
  );
  metrics.tasks.reset();
  for (const { type, counted } of counts) {
    for (const group of counted.groups) metrics.tasks.set({ type, status: executionStatusLabel(group.groupValues[0]) }, group.count);
  }
}

/** Visibility says `Running`, `Completed`, `ContinuedAsNew`, …: as a label, running, completed, continued_as_new. */
function executionStatusLabel(value: unknown): string {
  return String(value)
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}
