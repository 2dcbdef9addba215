// GET /healthz: is the service able to do work? Checks Temporal and the database.
// Unauthenticated (load balancers call it) and free of anything sensitive.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { health } from '../contracts.js';
import type { ApiDeps } from '../route-deps.js';

async function probe(fn: () => Promise<unknown>, timeoutMs = 3_000) {
  const t0 = performance.now();
  try {
    await Promise.race([fn(), new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref())]);
    return { ok: true, latencyMs: Math.round(performance.now() - t0) };
  } catch (err) {
    return { ok: false, latencyMs: Math.round(performance.now() - t0), error: err instanceof Error ? err.message : String(err) };
  }
}

export const healthRoutes = (deps: ApiDeps): FastifyPluginAsyncZod => async (app) => {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], security: [], response: { 200: health, 503: health } } },
    async (_req, reply) => {
      const [temporal, database] = await Promise.all([
        probe(() => deps.temporal.workflowService.getSystemInfo({})),
        probe(() => deps.db.query('SELECT 1')),
      ]);
      const ok = temporal.ok && database.ok;
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', checks: { temporal, database } });
    },
  );
};
